// `node dist/bench/bigBodies.js [--seconds 10]`: 8 MiB image bodies (an /api/chat with an `images` base64 field) at 50
// connections next to small streams, against Parallama with its defaults: what the small streams' latency and the
// gateway's event-loop lag (its own /metrics) become while the big bodies go through, compared with the streams alone.
// Request bodies are scanned for the fields the gateway needs, never JSON.parse'd: an in-process gateway with a spy on
// JSON.parse checks that nothing on its event loop parses a big body, and the scan of one 8 MiB body is timed.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { generateKey } from '../src/auth/apiKeyFormat.js'
import { configFrom } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { startGateway } from '../src/server.js'
import { startEmulatorProcess, startParallama } from './processes.js'
import { runLoad, type LoadResult } from './wrk.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } })
const seconds = Number(values.seconds)

/** 6 MiB of image bytes are 8 MiB of base64. */
const image = randomBytes(6 * 1024 * 1024).toString('base64')
const bigBody = JSON.stringify({
  model: 'llama3.2:3b',
  messages: [{ role: 'user', content: 'What is in this picture?', images: [image] }],
  stream: false,
})
const smallStream = JSON.stringify({ model: 'llama3.2:3b', prompt: 'Why is the sky blue?', stream: true })

const emulator = await startEmulatorProcess()
const parallama = await startParallama(emulator.url)

/** The gateway's event-loop lag histogram (cumulative buckets) and last-minute max, from its own /metrics. */
async function lag(): Promise<{ buckets: Map<string, number>; max: number }> {
  const text = await (await request(`${parallama.url}/metrics`)).body.text()
  const buckets = new Map<string, number>()
  for (const match of text.matchAll(/^parallama_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    buckets.set(match[1]!, Number(match[2]))
  }
  const max = /^parallama_event_loop_lag_max_seconds (\S+)$/m.exec(text)
  return { buckets, max: max ? Number(max[1]) : NaN }
}

/** The 99th percentile's bucket bound between two readings of the histogram (ms). */
function p99Ms(before: Map<string, number>, after: Map<string, number>): number {
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0)
  for (const [le, count] of after) {
    if (count - (before.get(le) ?? 0) >= 0.99 * total) return le === '+Inf' ? Infinity : Number(le) * 1000
  }
  return NaN
}

const streams = {
  method: 'POST',
  path: '/api/generate',
  body: smallStream,
  headers: { authorization: parallama.authorization, 'x-emulator-tokens': '32' },
  connections: 10,
  seconds,
} as const
const images = {
  method: 'POST',
  path: '/api/chat',
  body: bigBody,
  headers: { authorization: parallama.authorization },
  connections: 50,
  seconds,
} as const

function summary(result: LoadResult) {
  return {
    rps: Math.round(result.rps),
    p50ms: result.p50us / 1000,
    p99ms: result.p99us / 1000,
    errors: result.errors,
    non2xx: result.non2xx,
  }
}

const results: Record<string, unknown> = {}
try {
  await runLoad(parallama.url, { ...streams, seconds: 1 })
  let before = await lag()
  results.streamsAlone = summary(await runLoad(parallama.url, streams))
  let after = await lag()
  results.lagAlone = { p99ms: p99Ms(before.buckets, after.buckets), maxLastMinuteMs: after.max * 1000 }
  // A minute for the last-minute max to forget the first phase.
  await new Promise((resolve) => setTimeout(resolve, 61_000))
  before = await lag()
  const [withImages, bigOnes] = await Promise.all([runLoad(parallama.url, streams), runLoad(parallama.url, images)])
  after = await lag()
  results.streamsWithImages = summary(withImages)
  results.images = { ...summary(bigOnes), mibPerSecond: Math.round((bigOnes.rps * bigBody.length) / 2 ** 20) }
  results.lagWithImages = { p99ms: p99Ms(before.buckets, after.buckets), maxLastMinuteMs: after.max * 1000 }
} finally {
  await parallama.stop()
}

// In-process: the same body through a gateway whose JSON.parse is watched.
const parse = JSON.parse
let bigParses = 0
JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
  if (typeof text === 'string' && text.length > 1024 * 1024) bigParses++
  return parse(text, reviver)
}) as typeof JSON.parse
const dir = mkdtempSync(join(tmpdir(), 'parallama-bench-big-'))
const config = configFrom({
  server: { host: '127.0.0.1', port: 0 },
  backends: [{ url: emulator.url, name: 'emulator' }],
  database: { path: join(dir, 'parallama.db') },
  auth: { jwt_secret_file: join(dir, 'jwt.key') },
  log: { level: 'warn' },
})
try {
  const gateway = await startGateway(config, { logger: createLogger('warn') })
  const user = gateway.store.users.add({ username: 'bench', role: 'user' })
  const made = generateKey()
  gateway.store.keys.create({
    id: made.id,
    userId: user.id,
    hash: made.hash,
    prefix: made.prefix,
    models: null,
    expiresAt: null,
  })
  const started = performance.now()
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    const response = await request(`http://127.0.0.1:${gateway.port}/api/chat`, {
      method: 'POST',
      body: bigBody,
      headers: { authorization: `Bearer ${made.key}` },
    })
    statuses.push(response.statusCode)
    await response.body.dump()
  }
  results.inProcess = {
    statuses,
    msPerBody: Number(((performance.now() - started) / 5).toFixed(1)),
    jsonParseOfBigBodies: bigParses,
  }
  await gateway.close()
} catch (error) {
  results.inProcess = { error: (error as Error).message }
} finally {
  JSON.parse = parse
  await emulator.stop()
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n')
