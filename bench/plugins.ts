// `node dist/bench/plugins.js`: what the plugins' slots in the request path cost a request, in-process. One request's
// life is replayed as the composition, the exchange and finish live it, calling the slots exactly as they do
// (src/api/proxyHandler.ts: the plugins stage after the limits; src/proxy/exchange.ts: the head, every chunk and the
// tap's last piece; src/usage/finish.ts: the plugins consumer), with the gateway's own slots (src/plugins/stages.ts),
// against the same life without the slots.
// Variants: no slots at all; the slots with no plugins configured (what every gateway without plugins pays: the goal is
// ≤ 0.1 µs per request); and one plugin with onResponseChunk and onEnd hooks that do nothing.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createLogger } from '../src/logger.js'
import { emptyStats, PluginChain, type RequestPlugins } from '../src/plugins/chain.js'
import type { PluginHost } from '../src/plugins/loader.js'
import { pluginStages, type PluginStages } from '../src/plugins/stages.js'
import type { ExchangeResult } from '../src/proxy/exchange.js'
import type { RequestSnapshot } from '../src/http/requestSnapshot.js'
import { authorizeModels } from '../src/auth/authorize.js'

const chunkCount = 32
const chunks = Array.from({ length: chunkCount }, (_, index) =>
  Buffer.from(`{"model":"m","response":"token ${index}","done":false}\n`),
)
const lastPiece = Buffer.from('{"done":true}\n')
const body = Buffer.from('{"model":"m","prompt":"hello"}')
const route = { api: 'ollama', name: 'generate', readFields: () => ({ models: ['m'], stream: true }) as never }
const snapshot = { requestId: 'bench', method: 'POST', path: '/api/generate' } as RequestSnapshot

/** The parts of RequestState and Exchange the slots touch. */
class RequestLife {
  readonly request = snapshot
  readonly route = route
  readonly principal = undefined
  readonly model = 'm'
  readonly fields = undefined
  plugins: RequestPlugins | undefined = undefined
  bytesOut = 0
  chunks = 0
  status = 0
  head: string[] = ['content-type', 'application/x-ndjson']
}

let sink = 0
/** Where a life and its result go, as in the gateway (undici holds the exchange, finish hands on the result). */
const escaped: { life?: RequestLife; result?: ExchangeResult } = {}
function resultOf(life: RequestLife): ExchangeResult {
  return {
    requestId: 'bench',
    time: 0,
    api: 'ollama',
    route: 'generate',
    usesTokens: true,
    model: 'm',
    userId: 1,
    username: 'u',
    keyId: null,
    backend: 'b',
    status: life.status,
    errorCode: undefined,
    usage: undefined,
    chunks: life.chunks,
    clientAborted: false,
    bytesIn: 10,
    bytesOut: life.bytesOut,
    clientIp: '127.0.0.1',
    queueMs: 0,
    startedAt: 0,
    dispatchedAt: 0,
    firstByteAt: 0,
    endedAt: 0,
  }
}

function withoutSlots(_slots: PluginStages): void {
  const life = new RequestLife()
  escaped.life = life
  life.status = 200
  for (const chunk of chunks) {
    life.bytesOut += chunk.length
    life.chunks++
  }
  life.bytesOut += lastPiece.length
  const result = resultOf(life)
  escaped.result = result
  sink += result.bytesOut
}

function withSlots(slots: PluginStages): void {
  const life = new RequestLife()
  escaped.life = life
  if (slots.request(life, route, body, authorizeModels)) throw new Error('the bench has no onRequest hook')
  life.status = 200
  const added = slots.head(life, 200, 'application/x-ndjson')
  if (added) life.head.push(...added)
  for (const chunk of chunks) {
    slots.chunk(life, chunk)
    life.bytesOut += chunk.length
    life.chunks++
  }
  slots.chunk(life, lastPiece)
  life.bytesOut += lastPiece.length
  const result = resultOf(life)
  escaped.result = result
  sink += result.bytesOut
  slots.end(result, life)
}

const logger = createLogger('silent')
const noPlugins = pluginStages({ chain: undefined } as unknown as PluginHost)
const onePlugin = pluginStages({
  chain: new PluginChain(
    [{ name: 'noop', timeoutMs: 1000, plugin: { onResponseChunk: () => {}, onEnd: () => {} } }],
    logger,
    emptyStats(),
  ),
} as unknown as PluginHost)

/** CPU ns per call (shared machines: waiting for a core is not the code's cost). */
function measure(n: number, run: () => void): number {
  for (let i = 0; i < n / 10; i++) run()
  const started = process.cpuUsage()
  for (let i = 0; i < n; i++) run()
  const used = process.cpuUsage(started)
  return ((used.user + used.system) * 1000) / n
}

const variants: Record<string, () => void> = {
  'no slots': () => withoutSlots(noPlugins),
  'slots, no plugins': () => withSlots(noPlugins),
  'slots, one no-op plugin': () => withSlots(onePlugin),
}

const only = process.argv[2]
if (only !== undefined) {
  // One variant per process: the hook sites see only its shapes, as in a gateway (with plugins or without).
  const run = variants[only]!
  let best = Infinity
  for (let round = 0; round < 5; round++) best = Math.min(best, measure(round === 0 ? 200_000 : 2_000_000, run))
  console.log(best)
  if (sink <= 0) throw new Error('the replayed requests did nothing')
} else {
  const best = new Map<string, number>()
  // Interleaved processes, best of each: the noise of a shared machine only ever adds time.
  for (let round = 0; round < 3; round++) {
    for (const name of Object.keys(variants)) {
      const ns = Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8' }))
      best.set(name, Math.min(best.get(name) ?? Infinity, ns))
    }
  }
  const base = best.get('no slots')!
  for (const [name, ns] of best) {
    console.log(`${name.padEnd(30)} ${ns.toFixed(1).padStart(7)} ns/request  (+${(ns - base).toFixed(1)} ns)`)
  }
  console.log(
    `(one request: the chain looked up, the plugins stage, the head, ${chunkCount} chunks and the last piece, the end; CPU time, best of 3 runs)`,
  )
}
