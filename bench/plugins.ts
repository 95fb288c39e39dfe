// `node dist/bench/plugins.js`: what the plugin hook points cost a request, in-process. One request's life is replayed
// as the route handler and the exchange live it (the chain looked up, a view made when there is a chain, the onRequest
// test, the head, 32 chunks, the result handed to onEnd) with the hook lines exactly as they are written in
// src/api/proxyHandler.ts and src/proxy/exchange.ts (`// plugins:`), against the same life without those lines.
// Variants: no hook lines at all; the hook lines with no plugins configured (what every gateway without plugins pays:
// the goal is ≤ 0.1 µs per request); and one plugin with onResponseChunk and onEnd hooks that do nothing.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createLogger } from '../src/logger.js'
import { emptyStats, PluginChain, type RequestPlugins } from '../src/plugins/chain.js'
import type { PluginHost } from '../src/plugins/loader.js'
import type { ExchangeResult } from '../src/proxy/exchange.js'

const chunkCount = 32
const chunks = Array.from({ length: chunkCount }, (_, index) =>
  Buffer.from(`{"model":"m","response":"token ${index}","done":false}\n`),
)

/** The parts of Exchange the hook points touch. */
class RequestLife {
  plugins: RequestPlugins | undefined
  bytesOut = 0
  chunks = 0
  status = 0
  head: string[] = ['content-type', 'application/x-ndjson']
}

let sink = 0
/** Where a life and its result go, as in the gateway (undici holds the exchange, onEnd takes the result). */
const escaped: { life?: RequestLife; result?: ExchangeResult } = {}
function resultOf(life: RequestLife): ExchangeResult {
  return {
    requestId: 'bench',
    time: 0,
    api: 'ollama',
    route: 'generate',
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
    startedAt: 0,
    dispatchedAt: 0,
    firstByteAt: 0,
    endedAt: 0,
  }
}

function withoutHookLines(_context: { plugins?: PluginHost }): void {
  const life = new RequestLife()
  escaped.life = life
  life.status = 200
  for (const chunk of chunks) {
    life.bytesOut += chunk.length
    life.chunks++
  }
  const result = resultOf(life)
  escaped.result = result
  sink += result.bytesOut
}

function withHookLines(context: { plugins?: PluginHost }): void {
  const life = new RequestLife()
  escaped.life = life
  const chain = context.plugins?.chain
  if (chain) life.plugins = chain.forRequest('bench', 'ollama', 'generate')
  if (chain?.requestHooks.length) throw new Error('the bench has no onRequest hook')
  life.status = 200
  if (life.plugins) {
    life.plugins.head(200, 'application/x-ndjson')
    if (life.plugins.headers) life.head.push(...life.plugins.headers)
  }
  for (const chunk of chunks) {
    life.plugins?.chunk(chunk)
    life.bytesOut += chunk.length
    life.chunks++
  }
  const result = resultOf(life)
  escaped.result = result
  sink += result.bytesOut
  life.plugins?.end(result)
}

const logger = createLogger('silent')
const noPlugins = { plugins: { chain: undefined } as unknown as PluginHost }
const onePlugin = {
  plugins: {
    chain: new PluginChain(
      [{ name: 'noop', timeoutMs: 1000, plugin: { onResponseChunk: () => {}, onEnd: () => {} } }],
      logger,
      emptyStats(),
    ),
  } as unknown as PluginHost,
}

/** CPU ns per call (shared machines: waiting for a core is not the code's cost). */
function measure(n: number, run: () => void): number {
  for (let i = 0; i < n / 10; i++) run()
  const started = process.cpuUsage()
  for (let i = 0; i < n; i++) run()
  const used = process.cpuUsage(started)
  return ((used.user + used.system) * 1000) / n
}

const variants: Record<string, () => void> = {
  'no hook lines': () => withoutHookLines(noPlugins),
  'hook lines, no plugins': () => withHookLines(noPlugins),
  'hook lines, one no-op plugin': () => withHookLines(onePlugin),
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
  const base = best.get('no hook lines')!
  for (const [name, ns] of best) {
    console.log(`${name.padEnd(30)} ${ns.toFixed(1).padStart(7)} ns/request  (+${(ns - base).toFixed(1)} ns)`)
  }
  console.log(`(one request: the chain looked up, the head, ${chunkCount} chunks, the end; CPU time, best of 3 runs)`)
}
