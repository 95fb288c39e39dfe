// The emulator plays Ollama's scheduler over HTTP, so the gateway's scheduler tests meet what a real Ollama does:
// slots per loaded model, a FIFO queue and its 503, models in memory and their eviction, keep_alive, /api/ps, the
// --models catalog, and a client that leaves while it waits. Counts and orders only, never timings.
import { spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { catalogOf } from '../../bench/emulator/catalog.js'
import { startEmulator, type Emulator, type EmulatorOptions } from '../../bench/emulator/server.js'
import { fakeClock } from '../helpers/fakeSchedulerClock.js'

const busy = 'server busy, please try again.  maximum pending requests exceeded'

async function start(t: Test, options: EmulatorOptions): Promise<Emulator> {
  const emulator = await startEmulator({ preload: [], ...options })
  t.teardown(() => emulator.close())
  return emulator
}

async function post(emulator: Emulator, path: string, body: unknown, headers: Record<string, string> = {}) {
  // reset: a connection per request, so none is left stale when a test stops and restarts the emulator.
  const response = await request(`${emulator.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers,
    reset: true,
  })
  return { status: response.statusCode, text: await response.body.text() }
}

const generate = (emulator: Emulator, model: string, extra: object = {}) =>
  post(emulator, '/api/generate', { model, prompt: 'hi', stream: false, ...extra })

/** A streaming request that holds its slot until `release` (its client goes away). */
async function holdSlot(emulator: Emulator, model: string) {
  const controller = new AbortController()
  const response = await request(`${emulator.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model, prompt: 'hold' }),
    headers: { 'x-emulator-tokens': '100000', 'x-emulator-delay-ms': '20' },
    signal: controller.signal,
  })
  response.body.on('error', () => {})
  return { release: () => controller.abort() }
}

/** Waits (without asserting on time) until the emulator reaches a state. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2))
}

async function loadedNames(emulator: Emulator): Promise<string[]> {
  const response = await request(`${emulator.url}/api/ps`, { reset: true })
  return ((await response.body.json()) as { models: { name: string }[] }).models.map((model) => model.name)
}

t.test('--parallel holds under concurrency, per model', async (t) => {
  const emulator = await start(t, { scheduler: { parallel: 2 }, knobs: { tokens: 4, delayMs: 1 } })
  const replies = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      post(emulator, '/api/generate', { model: i % 2 ? 'llama3.2:3b' : 'qwen2.5:0.5b', prompt: 'x' }),
    ),
  )
  t.same(new Set(replies.map((reply) => reply.status)), new Set([200]))
  t.ok(
    replies.every((reply) => reply.text.includes('"done":true')),
    'every stream ran to its end',
  )
  for (const model of ['llama3.2:3b', 'qwen2.5:0.5b']) {
    t.match(emulator.stats.models.get(model), { peakRunning: 2, running: 0, queued: 0, served: 20, loads: 1 }, model)
    t.ok(emulator.stats.models.get(model)!.peakQueued > 0, `${model}: some requests waited`)
  }
})

t.test('the queue is first come, first served', async (t) => {
  const emulator = await start(t, { scheduler: { parallel: 1 }, knobs: { tokens: 2 } })
  const counts = () => emulator.stats.models.get('llama3.2:3b')!
  const holder = await holdSlot(emulator, 'llama3.2:3b')
  const finished: string[] = []
  const replies = []
  for (const label of ['first', 'second', 'third', 'fourth']) {
    replies.push(generate(emulator, 'llama3.2:3b').then(() => finished.push(label)))
    await until(() => counts().queued === replies.length)
  }
  holder.release()
  await Promise.all(replies)
  t.same(finished, ['first', 'second', 'third', 'fourth'])
  t.match(counts(), { peakRunning: 1, peakQueued: 4, served: 5 })
})

t.test('--max-queue: the next waiting request gets Ollama 503, in each dialect', async (t) => {
  const emulator = await start(t, { scheduler: { parallel: 1, maxQueue: 1 } })
  const holder = await holdSlot(emulator, 'llama3.2:3b')
  const waiting = generate(emulator, 'llama3.2:3b')
  await until(() => emulator.stats.models.get('llama3.2:3b')!.queued === 1)
  const native = await generate(emulator, 'llama3.2:3b')
  t.equal(native.status, 503)
  t.equal(native.text, `{"error":"${busy}"}`, "Ollama's exact body")
  const openai = await post(emulator, '/v1/chat/completions', { model: 'qwen2.5:0.5b', messages: [] })
  t.equal(openai.status, 503, 'the queue is one for all models')
  t.match(JSON.parse(openai.text), { error: { message: busy, type: 'api_error' } })
  t.equal((await request(`${emulator.url}/api/tags`)).statusCode, 200, 'metadata routes never wait')
  holder.release()
  t.equal((await waiting).status, 200, 'the one that waited is served')
  t.equal(emulator.stats.models.get('llama3.2:3b')!.rejected, 1)
})

t.test('--max-loaded: the least recently used idle model is evicted; a busy one is waited for', async (t) => {
  const emulator = await start(t, { scheduler: { maxLoaded: 2 } })
  for (const model of ['llama3.2:3b', 'qwen2.5:0.5b', 'llama3.2:3b']) await generate(emulator, model)
  await post(emulator, '/api/embed', { model: 'nomic-embed-text', input: 'x' })
  t.same((await loadedNames(emulator)).sort(), ['llama3.2:3b', 'nomic-embed-text:latest'])
  t.match(emulator.stats.models.get('qwen2.5:0.5b'), { loads: 1, evictions: 1 })

  const single = await start(t, { scheduler: { maxLoaded: 1, loadMs: 5 } })
  const holder = await holdSlot(single, 'llama3.2:3b')
  const other = generate(single, 'qwen2.5:0.5b')
  await until(() => single.stats.models.get('qwen2.5:0.5b')?.queued === 1)
  t.same(await loadedNames(single), ['llama3.2:3b'], 'a model with a running request stays')
  holder.release()
  t.equal((await other).status, 200)
  t.same(await loadedNames(single), ['qwen2.5:0.5b'])
  t.match(single.stats.models.get('llama3.2:3b'), { evictions: 1 })
})

t.test('keep_alive: 0 unloads after the request; an empty request loads or unloads only', async (t) => {
  const emulator = await start(t, { scheduler: { parallel: 1 } })
  t.equal((await generate(emulator, 'llama3.2:3b', { keep_alive: 0 })).status, 200)
  t.same(await loadedNames(emulator), [], 'unloaded at once')
  t.match(emulator.stats.models.get('llama3.2:3b'), { loads: 1, unloads: 1 })
  const load = JSON.parse((await generate(emulator, 'llama3.2:3b', { prompt: '' })).text)
  t.match(load, { response: '', done: true, done_reason: 'load' })
  const chatLoad = JSON.parse((await post(emulator, '/api/chat', { model: 'qwen2.5:0.5b', messages: [] })).text)
  t.match(chatLoad, { message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' })
  t.same((await loadedNames(emulator)).sort(), ['llama3.2:3b', 'qwen2.5:0.5b'])
  const unload = await post(emulator, '/api/chat', { model: 'qwen2.5:0.5b', messages: [], keep_alive: '0s' })
  t.match(JSON.parse(unload.text), { message: { role: 'assistant', content: '' }, done_reason: 'unload' })
  t.same(await loadedNames(emulator), ['llama3.2:3b'])
  const bad = await generate(emulator, 'llama3.2:3b', { keep_alive: '10' })
  t.same(bad, { status: 400, text: '{"error":"time: missing unit in duration \\"10\\""}' })
})

t.test('/api/ps: what is loaded, with the catalog size and digest and expires_at from keep_alive', async (t) => {
  const clock = fakeClock(Date.parse('2026-12-01T12:00:00.000Z'))
  const emulator = await start(t, { clock })
  await generate(emulator, 'llama3.2:3b', { keep_alive: '10m' })
  await generate(emulator, 'qwen2.5:0.5b', { keep_alive: -1 })
  await post(emulator, '/api/embed', { model: 'nomic-embed-text', input: 'x', keep_alive: 30 })
  const tags = (await (await request(`${emulator.url}/api/tags`)).body.json()) as { models: any[] }
  const ps = (await (await request(`${emulator.url}/api/ps`)).body.json()) as { models: any[] }
  t.same(
    ps.models.map((model) => [model.name, model.expires_at]),
    [
      ['qwen2.5:0.5b', '2319-03-13T11:47:16.854Z'],
      ['llama3.2:3b', '2026-12-01T12:10:00.000Z'],
      ['nomic-embed-text:latest', '2026-12-01T12:00:30.000Z'],
    ],
    'longest time left first; negative keep_alive is forever (Go adds MaxInt64 nanoseconds)',
  )
  for (const model of ps.models) {
    t.same(Object.keys(model), [
      'name',
      'model',
      'size',
      'digest',
      'details',
      'expires_at',
      'size_vram',
      'context_length',
    ])
    const tag = tags.models.find((entry) => entry.name === model.name)
    t.match(model, { model: tag.name, size: tag.size, digest: tag.digest, details: tag.details, size_vram: tag.size })
  }
  clock.advance(30_000)
  t.same(await loadedNames(emulator), ['qwen2.5:0.5b', 'llama3.2:3b'], 'keep_alive 30 ran out')
})

t.test('--models: the emulator holds only those; others are not found', async (t) => {
  const emulator = await start(t, { models: catalogOf(['qwen2.5:0.5b', 'mistral']), preload: undefined })
  const tags = (await (await request(`${emulator.url}/api/tags`)).body.json()) as { models: { name: string }[] }
  t.same(
    tags.models.map((model) => model.name),
    ['qwen2.5:0.5b', 'mistral:latest'],
  )
  t.same(await loadedNames(emulator), ['qwen2.5:0.5b'], 'the first is loaded at start, as /api/ps always showed')
  t.same(await generate(emulator, 'llama3.2:3b'), {
    status: 404,
    text: '{"error":"model \\"llama3.2:3b\\" not found, try pulling it first"}',
  })
  t.equal((await generate(emulator, 'mistral')).status, 200)
  t.notOk(emulator.stats.models.has('llama3.2:3b'), 'an unknown model is never scheduled')
})

t.test('a client that leaves while queued gives its place back and never runs', async (t) => {
  const emulator = await start(t, { scheduler: { parallel: 1, maxQueue: 1 } })
  const counts = () => emulator.stats.models.get('llama3.2:3b')!
  const holder = await holdSlot(emulator, 'llama3.2:3b')
  const controller = new AbortController()
  const leaving = request(`${emulator.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream: false }),
    signal: controller.signal,
  })
  await until(() => counts().queued === 1)
  controller.abort()
  await t.rejects(leaving)
  await until(() => counts().queued === 0)
  const next = generate(emulator, 'llama3.2:3b')
  await until(() => counts().queued === 1)
  t.equal(counts().rejected, 0, 'the freed place took the next request')
  holder.release()
  t.equal((await next).status, 200)
  t.match(counts(), { served: 2, running: 0, queued: 0 }, 'the one that left never ran')
})

t.test('stop (a crash) forgets what was loaded; start has only the preloaded model', async (t) => {
  const emulator = await start(t, { preload: ['qwen2.5:0.5b'], scheduler: { parallel: 1 } })
  await generate(emulator, 'llama3.2:3b')
  await holdSlot(emulator, 'llama3.2:3b')
  await emulator.stop()
  await emulator.start()
  t.same(await loadedNames(emulator), ['qwen2.5:0.5b'])
  await until(() => emulator.stats.models.get('llama3.2:3b')!.running === 0)
  t.equal((await generate(emulator, 'llama3.2:3b')).status, 200, 'a dropped stream left no slot taken')
  t.match(emulator.stats.models.get('llama3.2:3b'), { loads: 2, unloads: 1 })
})

t.test('the command line: flags, their errors, and --help', async (t) => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['dist/bench/emulator/main.js', '--port', '0', ...args])
      let out = ''
      child.stdout.on('data', (data: Buffer) => {
        out += data.toString()
        if (out.includes('listening')) child.kill('SIGTERM')
      })
      child.stderr.on('data', (data: Buffer) => (out += data.toString()))
      child.on('exit', (code) => resolve({ code, out }))
    })
  t.match(await run(['--parallel', '2', '--max-queue', '0', '--models', 'qwen2.5:0.5b', '--preload', '']), {
    code: 0,
    out: /listening on http:\/\/127\.0\.0\.1:\d+/,
  })
  t.match(await run(['--parallel', '0']), { code: 2, out: /--parallel expects a whole number of at least 1/ })
  t.match(await run(['--keep-alive', '5x']), { code: 2, out: /--keep-alive expects a duration/ })
  t.match(await run(['--preload', 'nope:1b']), { code: 2, out: /preload: model "nope:1b"/ })
  t.match(await run(['--help']), { code: 0, out: /--parallel N.*\n[^]*as the emulator always did/ })
})
