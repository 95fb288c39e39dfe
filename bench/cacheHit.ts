// `node dist/bench/cacheHit.js`: the gateway's CPU per request answered from the response cache, for a reply of about
// 4 KB (the goal: ≤ 50 µs per hit). First the cache's own work in-process; then the whole request end to end, beside
// a miss (forwarded, its reply captured and stored), a bypass (forwarded, no-store: the same request with the cache
// out of the way) and GET /health (the request path's floor). The real gateway (`parallama serve`, every part on) in
// front of the emulator, each in its own process; the gateway's CPU is read from /proc, so the client's work is not
// counted. 8 connections: µs per request, not throughput.
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import type { HttpResponse } from '../native/uws.js'
import type { Principal } from '../src/auth/principal.js'
import { cacheStage, type CacheTicket } from '../src/cache/cacheStage.js'
import { replayEntry } from '../src/cache/replay.js'
import { ResponseCache } from '../src/cache/responseCache.js'
import { configFrom } from '../src/config/load.js'
import { ClientReply } from '../src/http/clientReply.js'
import type { Backend } from '../src/proxy/backends.js'
import { NativeUsageTap, type TapFactory } from '../src/proxy/responseTap.js'
import { cpuSeconds, startEmulatorProcess, startParallama } from './processes.js'

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '100000' } },
})
const count = Number(values.requests)
const connections = 8

/**
 * The cache's own work per hit, in-process: the stage (the body parsed in canonical form, the key's SHA-256, the
 * lookup) and the replay (the route's tap over the stored 4 KB, the head and body handed to a stand-in uWS response).
 * What the rest of the request path costs (uWS, credentials, limits, the usage row, metrics, the log line) is the
 * end-to-end figure's difference.
 */
function inProcess(rounds: number): { stage: number; hitTotal: number } {
  const model = 'llama3.2:3b'
  const backend = {
    inventory: {
      installedFacts: new Map([[model, { digest: 'd'.repeat(64), size: 1, modifiedAt: null, sizeVram: null }]]),
    },
  } as unknown as Backend
  const settings = configFrom({}).cache
  const cache = new ResponseCache(64 * 1024 * 1024, undefined, Date.now)
  const enabled = { ...settings, enabled: true }
  const stage = cacheStage({ cache, backends: () => [backend], config: () => enabled })
  const body = Buffer.from(
    JSON.stringify({
      model,
      prompt: 'why is the sky blue?',
      stream: false,
      options: { temperature: 0 },
      keep_alive: '5m',
    }),
  )
  const reply4k = Buffer.from(
    JSON.stringify({
      model,
      created_at: new Date().toISOString(),
      response: 'token '.repeat(640),
      done: true,
      done_reason: 'stop',
      total_duration: 1,
      prompt_eval_count: 12,
      eval_count: 330,
    }),
  )
  const res = {
    cork: (write: () => void) => write(),
    writeStatus: () => res,
    writeHeader: () => res,
    end: () => res,
    write: () => true,
    onWritable: () => res,
  }
  const state = {
    request: { requestId: 'bench', forwardHeaders: [] as string[], query: '' },
    startedAt: performance.now(),
    principal: { userId: 1, role: 'user' } as Principal,
    model,
    body,
    cache: undefined as CacheTicket | undefined,
    admission: undefined,
    tapFactory: (() => new NativeUsageTap()) as TapFactory,
  }
  stage(state, 'ollama.generate')
  cache.save({
    key: state.cache!.key,
    route: 'ollama.generate',
    model,
    userId: 1,
    contentType: 'application/json; charset=utf-8',
    body: reply4k,
    holes: [],
    storedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
  })
  let sink = 0
  const time = (work: () => void): number => {
    for (let i = 0; i < rounds / 10; i++) work()
    const started = process.cpuUsage()
    for (let i = 0; i < rounds; i++) work()
    const used = process.cpuUsage(started)
    return (used.user + used.system) / rounds
  }
  const stageOnly = time(() => {
    state.cache = undefined
    if (stage(state, 'ollama.generate')) sink++
  })
  const hitTotal = time(() => {
    state.cache = undefined
    const entry = stage(state, 'ollama.generate')!
    const reply = new ClientReply(res as unknown as HttpResponse)
    sink += replayEntry(reply, state, entry, {}, Date.now(), false).bytesOut
  })
  if (sink === 0) throw new Error('no hit')
  return { stage: stageOnly, hitTotal }
}

const local = inProcess(Number(values.rounds))
console.log('the cache’s own CPU per hit, in-process (µs):')
console.log(`  stage (parse, key, lookup)     ${local.stage.toFixed(2)}`)
console.log(`  stage + replay of 4 KB         ${local.hitTotal.toFixed(2)}`)

const emulator = await startEmulatorProcess()
const gateway = await startParallama(emulator.url, 'all', {
  env: { PARALLAMA_CACHE__ENABLED: 'true', PARALLAMA_METRICS__BACKEND_CHECK_INTERVAL: '200ms' },
})
const pool = new Pool(gateway.url, { connections, pipelining: 1 })

/** A native generate reply of about 4 KB: the emulator's tokens are a few bytes each. */
const tokens = 330
const headers = {
  authorization: gateway.authorization,
  'content-type': 'application/json',
  'x-emulator-tokens': String(tokens),
}
const bodyOf = (prompt: string) =>
  JSON.stringify({ model: 'llama3.2:3b', prompt, stream: false, options: { temperature: 0 } })

async function send(body: string, extra: Record<string, string> = {}): Promise<{ cache: string; bytes: number }> {
  const response = await pool.request({
    path: '/api/generate',
    method: 'POST',
    headers: { ...headers, ...extra },
    body,
  })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}: ${text.slice(0, 200)}`)
  return { cache: String(response.headers['x-parallama-cache']), bytes: Buffer.byteLength(text) }
}

/** Gateway CPU µs per request over `n` requests made by `make(i)`, `connections` at a time. */
async function measure(n: number, make: (i: number) => Promise<unknown>): Promise<number> {
  const before = cpuSeconds(gateway.pid)
  let next = 0
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < n) await make(next++)
    }),
  )
  return ((cpuSeconds(gateway.pid) - before) * 1e6) / n
}

try {
  // The gateway keys by the model's digest: wait for its first look at the backend's /api/tags.
  let first = await send(bodyOf('warm'))
  for (let tries = 0; first.cache === 'bypass' && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    first = await send(bodyOf('warm'))
  }
  const hit = await send(bodyOf('warm'))
  if (hit.cache !== 'hit') throw new Error(`expected a hit, got ${hit.cache}`)
  // Warm-up of each path, then the timed rounds (best of three: a shared machine's noise only adds).
  await measure(2000, () => send(bodyOf('warm')))
  await measure(500, (i) => send(bodyOf(`warm-miss-${i}`)))
  const results: Record<string, number> = {}
  for (let round = 0; round < 3; round++) {
    const best = (name: string, value: number) => (results[name] = Math.min(results[name] ?? Infinity, value))
    best('hit', await measure(count, () => send(bodyOf('warm'))))
    best('miss (forwarded, stored)', await measure(count / 4, (i) => send(bodyOf(`miss-${round}-${i}`))))
    best(
      'bypass (no-store: forwarded)',
      await measure(count / 4, () => send(bodyOf('warm'), { 'cache-control': 'no-store' })),
    )
    best(
      'GET /health (for scale)',
      await measure(count / 4, async () => {
        const response = await pool.request({ path: '/health', method: 'GET' })
        await response.body.text()
      }),
    )
  }
  console.log(`reply: ${hit.bytes} bytes; gateway CPU per request (µs), best of 3 rounds:`)
  for (const [name, us] of Object.entries(results)) console.log(`  ${name.padEnd(30)} ${us.toFixed(1)}`)
  const own = local.hitTotal
  console.log(
    `goal ≤ 50 µs per hit: the cache's own work ${own.toFixed(1)} µs (${own <= 50 ? 'met' : 'not met'}); the whole ` +
      `request ${results.hit!.toFixed(1)} µs, most of it the request path every request pays (see GET /health)`,
  )
} finally {
  await pool.close()
  await gateway.stop()
  await emulator.stop()
}
