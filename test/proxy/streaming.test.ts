// Streams pass through byte for byte, with backpressure both ways, and a client that leaves cancels the upstream.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'
import { rawRequestBursty } from '../helpers/rawHttp.js'

const generate = JSON.stringify({ model: 'llama3.2:3b', prompt: 'tell me a long story' })

/** Reads a body in bursts: `burst` chunks as fast as they come, then a pause, repeatedly. */
async function readBursty(body: AsyncIterable<Buffer>, burst: number, pauseMs: number) {
  const hash = createHash('sha256')
  let bytes = 0
  let count = 0
  for await (const chunk of body) {
    hash.update(chunk)
    bytes += chunk.length
    if (++count % burst === 0) await sleep(pauseMs)
  }
  return { sha256: hash.digest('hex'), bytes }
}

for (const [name, chunkBytes] of [
  ['line-sized chunks', 0],
  ['64 KiB chunks (larger than one cork)', 65536],
] as const) {
  t.test(`a multi-MiB stream reaches a bursty slow reader intact: ${name}`, async (t) => {
    const rig = await startRig(t)
    const id = `bursty-${chunkBytes}`
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      body: generate,
      headers: {
        ...rig.headers,
        'x-request-id': id,
        'x-emulator-tokens': '60000',
        'x-emulator-hash': '1',
        'x-emulator-chunk-bytes': String(chunkBytes),
      },
    })
    t.equal(response.statusCode, 200)
    const received = await readBursty(response.body, 10, 50)
    t.ok(received.bytes > 5 * 1024 * 1024, `streamed ${received.bytes} bytes`)
    t.equal(received.sha256, rig.emulator.stats.bodyHashes.get(id), 'sha256 equal to what the emulator sent')
  })
}

// uWS v20.30 silently drops what overflows a 16 KiB cork while the client reads slowly; this reader (pausing the
// socket itself) reproduces that with larger corks, so it guards the cork budget in src/http/responseStreamer.ts.
for (const [name, chunkBytes, pauseMs, readMs] of [
  ['line-sized chunks', 0, 50, 5],
  ['64 KiB chunks', 65536, 20, 2],
] as const) {
  t.test(`a socket-level bursty reader gets a multi-MiB stream intact: ${name}`, async (t) => {
    const rig = await startRig(t)
    const id = `raw-${chunkBytes}`
    const request =
      `POST /api/generate HTTP/1.1\r\nhost: test\r\nauthorization: Bearer ${rig.key}\r\nx-request-id: ${id}\r\n` +
      `x-emulator-hash: 1\r\n` +
      `x-emulator-tokens: 60000\r\nx-emulator-chunk-bytes: ${chunkBytes}\r\ncontent-length: ${generate.length}\r\n\r\n${generate}`
    const response = await rawRequestBursty(rig.gateway.port, request, { pauseMs, readMs, maxRounds: 2000 })
    t.equal(response.framingError, undefined, 'chunked framing intact')
    t.ok(response.body.length > 5 * 1024 * 1024, `streamed ${response.body.length} bytes`)
    t.equal(
      createHash('sha256').update(response.body).digest('hex'),
      rig.emulator.stats.bodyHashes.get(id),
      'sha256 equal',
    )
  })
}

t.test('tokens reach the client as Ollama emits them, not when the reply ends', async (t) => {
  const rig = await startRig(t, { timeouts: { idle: '10s' } })
  // The emulator writes 3 of 6 tokens and then stalls: a proxy that buffered would deliver nothing.
  const controller = new AbortController()
  const response = await request(`${rig.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }] }),
    headers: { ...rig.headers, 'x-emulator-tokens': '6', 'x-emulator-fault': 'stall_mid_stream' },
    signal: controller.signal,
  })
  let text = ''
  for await (const chunk of response.body) {
    text += String(chunk)
    if (text.split('\n').length > 3) break
  }
  const lines = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.same(
    lines.map((line) => line.message.content),
    ['The', ' quick', ' brown'],
    'the first three tokens arrived while the reply was still open',
  )
  controller.abort()
})

t.test('a small non-streamed reply passes through byte for byte', async (t) => {
  const rig = await startRig(t)
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
    headers: { ...rig.headers, 'x-request-id': 'small-1', 'x-emulator-hash': '1' },
  })
  const body = Buffer.from(await response.body.arrayBuffer())
  t.equal(response.headers['content-length'], String(body.length), 'declared length kept')
  t.equal(createHash('sha256').update(body).digest('hex'), rig.emulator.stats.bodyHashes.get('small-1'))
})

t.test('a client that goes away mid-stream cancels the upstream request', async (t) => {
  const rig = await startRig(t)
  const controller = new AbortController()
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: generate,
    headers: { ...rig.headers, 'x-emulator-tokens': '10000', 'x-emulator-delay-ms': '20' },
    signal: controller.signal,
  })
  const aborted = rig.emulator.nextAbort()
  const ended = rig.nextEnd()
  for await (const chunk of response.body) {
    t.ok(chunk.length > 0, 'got the first tokens')
    break
  }
  controller.abort()
  await aborted
  t.pass('the emulator saw its request closed')
  const result = await ended
  t.equal(result.clientAborted, true, 'the end hook says the client aborted')
  t.equal(rig.gateway.backends[0]!.outstanding, 0, 'no outstanding upstream request left')
  const after = await request(`${rig.url}/api/version`, { headers: rig.headers })
  t.equal(after.statusCode, 200, 'the gateway still serves')
  await after.body.dump()
})

t.test('a client that leaves before the upstream answers cancels it too', async (t) => {
  const rig = await startRig(t)
  const controller = new AbortController()
  const before = rig.emulator.stats.requests
  const pending = request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: generate,
    headers: { ...rig.headers, 'x-emulator-first-token-ms': '5000' },
    signal: controller.signal,
  })
  const aborted = rig.emulator.nextAbort()
  // Gone once the backend has the request (a fixed wait was too short on a busy machine: nothing upstream to cancel).
  while (rig.emulator.stats.requests === before) await sleep(10)
  controller.abort()
  await t.rejects(pending)
  await aborted
  t.pass('the emulator saw its request closed')
})

t.test('usage: final metrics are read from streamed and whole replies, lines split across chunks or not', async (t) => {
  const rig = await startRig(t)
  const cases = [
    ['generate streamed', '/api/generate', { model: 'llama3.2:3b', prompt: 'one two three' }, '0'],
    ['generate split into 7-byte chunks', '/api/generate', { model: 'llama3.2:3b', prompt: 'one two three' }, '7'],
    ['generate stream:false', '/api/generate', { model: 'llama3.2:3b', prompt: 'one two three', stream: false }, '0'],
    [
      'chat streamed',
      '/api/chat',
      { model: 'llama3.2:3b', messages: [{ role: 'user', content: 'one two three' }] },
      '0',
    ],
    ['chat split', '/api/chat', { model: 'llama3.2:3b', messages: [{ role: 'user', content: 'one two three' }] }, '5'],
  ] as const
  for (const [name, path, body, chunkBytes] of cases) {
    const ended = rig.nextEnd()
    const response = await request(`${rig.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { ...rig.headers, 'x-emulator-chunk-bytes': chunkBytes, 'x-emulator-tokens': '12' },
    })
    const lines = (await response.body.text()).trim().split('\n')
    const final = JSON.parse(lines.at(-1)!)
    const { usage } = await ended
    t.same(
      usage && [
        usage.promptTokens,
        usage.completionTokens,
        usage.doneReason,
        usage.totalDurationNs,
        usage.evalDurationNs,
      ],
      [final.prompt_eval_count, final.eval_count, final.done_reason, final.total_duration, final.eval_duration],
      name,
    )
    t.equal(usage?.completionTokens, 12, `${name}: 12 tokens`)
  }

  const embedEnded = rig.nextEnd()
  const embed = await request(`${rig.url}/api/embed`, {
    method: 'POST',
    body: JSON.stringify({ model: 'nomic-embed-text', input: ['a b c', 'd e'] }),
    headers: rig.headers,
  })
  const embedBody = (await embed.body.json()) as { prompt_eval_count: number }
  t.equal((await embedEnded).usage?.promptTokens, embedBody.prompt_eval_count, 'embed prompt tokens')

  const loadEnded = rig.nextEnd()
  const load = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b' }),
    headers: rig.headers,
  })
  await load.body.dump()
  const loadUsage = (await loadEnded).usage
  t.equal(loadUsage?.doneReason, 'load', 'a load reply says so')
  t.equal(loadUsage?.promptTokens, undefined, 'missing metrics are unknown, not an error')
  t.equal(loadUsage?.completionTokens, undefined)
})
