// Failover before the first byte: a request that fails on one backend (refused, reset, no head within
// timeouts.first_byte, Ollama's 503 busy, any 5xx) is answered by another, with the same request id; never once bytes
// reached the client; at most upstream.retries more backends; a streamed upload only while nothing of it was read.
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { startRig, type Rig } from '../helpers/gateway.js'
import { startRawBackend, type Behaviour, type RawBackend, closedPort } from '../helpers/rawBackend.js'

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hello' })
const busy = JSON.stringify({ error: 'server busy, please try again.  maximum pending requests exceeded' })

async function post(rig: Rig, path = '/api/generate', payload: string | Readable = body) {
  const response = await request(`${rig.url}${path}`, { method: 'POST', body: payload, headers: rig.headers })
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

async function raw(t: Test, behaviour?: Behaviour): Promise<RawBackend> {
  const backend = await startRawBackend(behaviour)
  t.teardown(() => backend.close())
  return backend
}

const requestId = (backend: RawBackend) => /\r\nx-request-id: *([^\r]*)/i.exec(backend.last!.head)?.[1]

const kinds: [string, Behaviour][] = [
  ['a reset before any head', { final: 'reset' }],
  ['no head within timeouts.first_byte', { final: 'stall' }],
  ["Ollama's 503 busy", { final: 'whole', status: 503, body: busy }],
  ['a 500', { final: 'whole', status: 500, body: '{"error":"llama runner process has terminated"}' }],
]

for (const [kind, behaviour] of kinds) {
  t.test(`${kind}: answered by the other backend, with the same request id`, async (t) => {
    const bad = await raw(t, behaviour)
    const good = await raw(t)
    const rig = await startRig(t, {
      backends: [
        { url: bad.url, name: 'bad' },
        { url: good.url, name: 'good' },
      ],
      timeouts: { first_byte: '300ms' },
    })
    const response = await post(rig)
    t.equal(response.status, 200)
    t.match(JSON.parse(response.text), { done: true })
    t.equal([bad.requests, good.requests].join(), '1,1', 'tried on each once')
    t.equal(requestId(bad), response.headers['x-request-id'])
    t.equal(requestId(good), response.headers['x-request-id'], 'the same request id upstream')
    t.equal(rig.ended.at(-1)!.backend, 'good')
  })
}

t.test('refused connections under a stream of requests: none lost, the refusing backend ejected', async (t) => {
  const good = await raw(t)
  const rig = await startRig(t, {
    backends: [
      { url: `http://127.0.0.1:${await closedPort()}`, name: 'down' },
      { url: good.url, name: 'good' },
    ],
  })
  const statuses = await Promise.all(Array.from({ length: 12 }, () => post(rig).then((response) => response.status)))
  t.same(new Set(statuses), new Set([200]), 'every request answered')
  t.equal(good.requests, 12)
  const metrics = await request(`${rig.url}/metrics`).then((response) => response.body.text())
  t.match(metrics, /parallama_upstream_retries_total\{backend="down",reason="connect"\} \d+/)
})

t.test('nothing is retried once bytes reached the client', async (t) => {
  const bad = await raw(t, { final: 'resetMid', lines: 3 })
  const good = await raw(t)
  const rig = await startRig(t, {
    backends: [
      { url: bad.url, name: 'bad' },
      { url: good.url, name: 'good' },
    ],
  })
  const response = await post(rig)
  t.equal(response.status, 200)
  const lines = response.text.trim().split('\n')
  t.match(JSON.parse(lines.at(-1)!), { error: /lost mid-response/ }, 'the stream ends with the error line')
  t.equal(good.requests, 0, 'the other backend never saw it')
})

t.test('retries are bounded by upstream.retries', async (t) => {
  const backends = [
    await raw(t, { final: 'reset' }),
    await raw(t, { final: 'reset' }),
    await raw(t, { final: 'reset' }),
  ]
  const rig = await startRig(t, {
    backends: backends.map((backend, index) => ({ url: backend.url, name: `b${index}` })),
    upstream: { retries: 1 },
  })
  const response = await post(rig)
  t.equal(response.status, 502)
  t.equal(JSON.parse(response.text).code, 'upstream_unreachable')
  t.equal(
    backends.reduce((sum, backend) => sum + backend.requests, 0),
    2,
    'the first backend and one retry',
  )
  rig.gateway.reload({ ...rig.config, upstream: { ...rig.config.upstream, retries: 0 } })
  const before = backends.map((backend) => backend.requests)
  t.equal((await post(rig)).status, 502)
  const sent = backends.reduce((sum, backend, index) => sum + backend.requests - before[index]!, 0)
  t.equal(sent, 1, 'retries: 0 (reloaded) tries one backend only')
})

t.test('a streamed upload is not retried once the backend read it, and is while nothing was read', async (t) => {
  const digest = `/api/blobs/sha256:${'a'.repeat(64)}`
  const upload = () => Readable.from([Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2)])
  const reads = await raw(t, { final: 'reset' })
  const good = await raw(t)
  const rig = await startRig(t, {
    backends: [
      { url: reads.url, name: 'reads' },
      { url: good.url, name: 'good' },
    ],
  })
  const read = await post(rig, digest, upload())
  t.equal(read.status, 502, 'reset after reading the body: its bytes are gone, no retry')
  t.equal(good.requests, 0)

  const good2 = await raw(t)
  const refused = await startRig(t, {
    backends: [
      { url: `http://127.0.0.1:${await closedPort()}`, name: 'down' },
      { url: good2.url, name: 'good' },
    ],
  })
  const unread = await post(refused, digest, upload())
  t.equal(unread.status, 200, 'refused before anything was read: sent to the other backend')
  t.equal(good2.last!.body.length, 128 * 1024, 'whole')
})

t.test('a backend killed under load: no request that had not started streaming is lost', async (t) => {
  const first = await startEmulator()
  const second = await startEmulator()
  t.teardown(() => first.close())
  t.teardown(() => second.close())
  const rig = await startRig(t, {
    backends: [
      { url: first.url, name: 'first' },
      { url: second.url, name: 'second' },
    ],
  })
  const stream = async () => {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      body,
      headers: { ...rig.headers, 'x-emulator-tokens': '10', 'x-emulator-delay-ms': '20' },
    })
    const lines = (await response.body.text()).trim().split('\n')
    return { status: response.statusCode, last: JSON.parse(lines.at(-1)!) as { done?: boolean; error?: string } }
  }
  const sent = Array.from({ length: 24 }, () => stream())
  // Killed once it is streaming some of them: the rest that it had taken are cut, those after it are refused.
  while (first.stats.requests < 3) await new Promise((resolve) => setImmediate(resolve))
  await first.stop()
  const more = Array.from({ length: 8 }, () => stream())
  const results = await Promise.all([...sent, ...more])
  const lost = results.filter((result) => result.status !== 200)
  t.same(lost, [], 'every request got its 200: a failure before the first byte went to the other backend')
  for (const result of results) {
    t.ok(result.last.done === true || /lost mid-response/.test(result.last.error ?? ''), 'complete, or cut mid-stream')
  }
  const cut = results.filter((result) => result.last.done !== true).length
  t.ok(cut <= first.stats.requests, `only streams the killed backend had started were cut (${cut})`)
})
