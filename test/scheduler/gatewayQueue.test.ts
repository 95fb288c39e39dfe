// The gateway's queue end to end: a real gateway in front of an emulator that runs one request at a time (as Ollama
// with OLLAMA_NUM_PARALLEL=1), real HTTP clients. Orders and counts only, never timings.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { catalogOf } from '../../bench/emulator/catalog.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const model = 'llama3.2:3b'

/** A generate that streams `tokens` tokens 20 ms apart; resolves when it ended, with what the client got. */
async function generate(rig: Rig, headers: Record<string, string>, options: { tokens?: number; model?: string } = {}) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: { ...headers, 'x-emulator-tokens': String(options.tokens ?? 3), 'x-emulator-delay-ms': '20' },
    body: JSON.stringify({ model: options.model ?? model, prompt: 'hi', stream: true }),
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text }
}

/** Waits until `n` requests wait in the gateway's queue (GET /admin/v1/queue). */
async function waitingAtLeast(rig: Rig, n: number): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    const response = await request(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
    const body = (await response.body.json()) as { models: { waiting: number }[] }
    if (body.models.reduce((sum, entry) => sum + entry.waiting, 0) >= n) return
    await sleep(10)
  }
  throw new Error(`never ${n} waiting`)
}

t.test('fair: a user who floods cannot make another wait behind all of their requests', async (t) => {
  const rig = await startRig(t, {}, { scheduler: { parallel: 1 } })
  const flood = rig.addKey({ username: 'flood' })
  const polite = rig.addKey({ username: 'polite' })
  const order: string[] = []
  const floods = Array.from({ length: 6 }, (_, i) =>
    generate(rig, flood.headers).then((reply) => order.push(`flood${i}:${reply.status}`)),
  )
  await waitingAtLeast(rig, 5)
  const politeDone = generate(rig, polite.headers).then((reply) => order.push(`polite:${reply.status}`))
  await Promise.all([...floods, politeDone])
  const at = order.indexOf('polite:200')
  t.ok(at >= 0 && at <= 2, `the polite user's one request went next, not last (${order.join(' ')})`)
  t.equal(rig.emulator.scheduler.countsOf(model).peakRunning, 1, 'never more than one at once on the backend')
  t.equal(rig.emulator.scheduler.countsOf(model).peakQueued, 0, 'nothing queued in Ollama: the gateway held it')
})

t.test('queue full: 503 queue_full with Retry-After, in the route’s dialect', async (t) => {
  const rig = await startRig(t, { scheduler: { max_queue: 1 } }, { scheduler: { parallel: 1 } })
  const running = generate(rig, rig.headers, { tokens: 20 })
  const waiting = generate(rig, rig.headers)
  await waitingAtLeast(rig, 1)
  const native = await generate(rig, rig.headers)
  t.equal(native.status, 503)
  t.equal(native.headers['retry-after'], '1')
  t.match(JSON.parse(native.text), { error: /queue/i })
  const openai = await request(`${rig.url}/v1/chat/completions`, {
    method: 'POST',
    headers: rig.headers,
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(openai.statusCode, 503)
  t.match(await openai.body.json(), { error: { code: 'queue_full', message: /queue/i } })
  t.same([(await running).status, (await waiting).status], [200, 200], 'the admitted ones are served')
  const full = rig.ended.filter((result) => result.errorCode === 'queue_full')
  t.equal(full.length, 2, 'both refusals have their usage result')
})

t.test('queue timeout: 503 queue_timeout after scheduler.max_wait', async (t) => {
  const rig = await startRig(t, { scheduler: { max_wait: '100ms' } }, { scheduler: { parallel: 1 } })
  const running = generate(rig, rig.headers, { tokens: 30 })
  await sleep(50)
  const late = await generate(rig, rig.headers)
  t.equal(late.status, 503)
  t.match(JSON.parse(late.text), { error: /no slot .* came free within 0.1 s/ })
  t.equal((await running).status, 200)
})

t.test('a client that leaves while queued never reaches the backend and still has its usage result', async (t) => {
  const rig = await startRig(t, {}, { scheduler: { parallel: 1 } })
  const running = generate(rig, rig.headers, { tokens: 10 })
  const controller = new AbortController()
  const leaving = request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: rig.headers,
    body: JSON.stringify({ model, prompt: 'bye', stream: true }),
    signal: controller.signal,
  }).catch(() => undefined)
  await waitingAtLeast(rig, 1)
  const ended = rig.nextEnd()
  controller.abort()
  await leaving
  const result = await ended
  t.match(result, { clientAborted: true, backend: null })
  await running
  t.equal(rig.emulator.stats.requests, 1, 'only the running request reached the backend')
  const response = await request(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
  t.same(((await response.body.json()) as { models: unknown[] }).models, [], 'nothing left in line')
})

t.test('a model no backend has: 404 model_not_found from the gateway, in each dialect', async (t) => {
  const rig = await startRig(
    t,
    { metrics: { backend_check_interval: '1h' } },
    { models: catalogOf([model]), scheduler: { parallel: 1 } },
  )
  // /ready runs a first round of checks: the inventory is known from then on.
  await (await request(`${rig.url}/ready`)).body.dump()
  const before = rig.emulator.stats.requests
  const native = await generate(rig, rig.headers, { model: 'nothing:here' })
  t.equal(native.status, 404)
  t.match(JSON.parse(native.text), { error: /nothing:here/ })
  const openai = await request(`${rig.url}/v1/chat/completions`, {
    method: 'POST',
    headers: rig.headers,
    body: JSON.stringify({ model: 'nothing:here', messages: [{ role: 'user', content: 'hi' }] }),
  })
  t.equal(openai.statusCode, 404)
  t.match(await openai.body.json(), { error: { code: 'model_not_found' } })
  t.equal(rig.emulator.stats.requests - before, 0, 'the backend never saw them')
})

t.test('what a queued request shows: Server-Timing queue, queue_ms, the admin view per user', async (t) => {
  const rig = await startRig(t, {}, { scheduler: { parallel: 1 } })
  const alice = rig.addKey({ username: 'alice' })
  const bob = rig.addKey({ username: 'bob', role: 'user' })
  const running = generate(rig, alice.headers, { tokens: 15 })
  const queued = generate(rig, bob.headers)
  await waitingAtLeast(rig, 1)
  const own = await request(`${rig.url}/admin/v1/queue`, { headers: bob.headers })
  t.match(await own.body.json(), { models: [{ model, waiting: 1, running: 0, users: [{ user: 'bob', waiting: 1 }] }] })
  const all = await request(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
  const view = (await all.body.json()) as { models: { users: { user: string }[] }[] }
  t.same(view.models[0]!.users.map((entry) => entry.user).sort(), ['alice', 'bob'], 'an admin sees everyone')
  await running
  const reply = await queued
  t.match(String(reply.headers['server-timing']), /queue;dur=\d/)
  await rig.gateway.accounting.recorder.settled()
  const rows = rig.gateway.store.db.prepare('SELECT username, queue_ms FROM usage ORDER BY id').all() as {
    username: string
    queue_ms: number
  }[]
  const bobRow = rows.find((row) => row.username === 'bob')!
  t.ok(bobRow.queue_ms > 0, `bob's row says he waited (${bobRow.queue_ms} ms)`)
})
