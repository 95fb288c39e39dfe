// `node dist/bench/hotPath.js [--rate 20000] [--rounds 3]`: what limits + usage + the request log line cost the event loop per request,
// in-process, with the real writer thread and a real SQLite file. Each turn admits and releases a batch of requests,
// records their usage rows and log lines the way the finish stage does, and lets the flush timer hand them over; only
// the synchronous part is timed (wall time of the main thread: the writer thread runs on its own core). Goal (issue
// 12): limits + usage ≤ 2 µs per request.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as yieldTurn, setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { benchPrincipal } from './benchPrincipal.js'
import { configFrom } from '../src/config/load.js'
import { Limiter } from '../src/limits/limiter.js'
import { RuleSet } from '../src/limits/rules.js'
import { createLogger } from '../src/logger.js'
import type { ExchangeResult } from '../src/proxy/exchange.js'
import { openStore } from '../src/store/store.js'
import { Accounting } from '../src/usage/accounting.js'
import { logRequest } from '../src/requestLog.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '60000' },
    batch: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
  },
})
const total = Number(values.requests)
const batch = Number(values.batch)
/** Requests per second: what a busy gateway ends (the writer thread keeps up with this, as it must in production). */
const rate = Number(values.rate)

const principal = benchPrincipal
const limiter = new Limiter(
  new RuleSet([
    {
      subjectType: 'key',
      subject: 'benchkey0001',
      gateway: '*',
      model: '',
      values: { rpm: 1e9, tpm: 1e12, concurrency: 1000, daily_tokens: 1e15 },
    },
  ]),
  () => 0,
)

const dir = mkdtempSync(join(tmpdir(), 'parallama-bench-hot-'))
const config = configFrom({ database: { path: join(dir, 'hot.db') }, usage: { flush_interval: '100ms' } })
const store = openStore(config.database, { migrate: true })
const logger = createLogger('warn')
const accounting = new Accounting(store.db, config.database, config.usage, logger)
accounting.start()
/** The log line goes to a sink that keeps nothing: what is measured is building and buffering it. */
let logged = 0
const lineLogger = createLogger('info', (chunk: string) => (logged += chunk.length))
const logLine = (item: ExchangeResult) => logRequest(lineLogger, item)

let sequence = 0
function result(): ExchangeResult {
  const now = performance.now()
  return {
    requestId: `0193a5f2-7c1e-7d00-8000-${String(sequence++).padStart(12, '0')}`,
    time: Date.now(),
    api: 'ollama',
    route: 'generate',
    usesTokens: true,
    model: 'llama3.2:3b',
    userId: 1,
    username: 'bench',
    keyId: 'benchkey0001',
    backend: 'gpu1',
    status: 200,
    errorCode: undefined,
    usage: {
      promptTokens: 26,
      completionTokens: 32,
      doneReason: 'stop',
      totalDurationNs: 1e8,
      loadDurationNs: 1e6,
      promptEvalDurationNs: 1e7,
      evalDurationNs: 9e7,
      error: undefined,
    },
    chunks: 33,
    clientAborted: false,
    bytesIn: 180,
    bytesOut: 4200,
    clientIp: '10.0.0.7',
    queueMs: 0,
    startedAt: now - 40,
    dispatchedAt: now - 39.9,
    firstByteAt: now - 30,
    endedAt: now,
  }
}

async function measure(name: string, work: (item: ExchangeResult) => void): Promise<number> {
  let spent = 0
  let done = 0
  const items: ExchangeResult[] = []
  const begun = performance.now()
  while (done < total) {
    items.length = 0
    // Results are made outside the timed part: building them is the exchange's work, not the finish stage's.
    for (let i = 0; i < batch; i++) items.push(result())
    const started = performance.now()
    for (const item of items) work(item)
    spent += performance.now() - started
    done += batch
    // Turns of the event loop between batches, as between request ends: timers (the flush) run here, untimed…
    await yieldTurn()
    while (performance.now() - begun < (done / rate) * 1000) await sleep(1)
  }
  // …except the hand-over itself, which is the event loop's cost too: flush() is timed where it runs below.
  const perRequest = (spent * 1000) / done
  console.log(`${name}: ${perRequest.toFixed(3)} µs per request on the event loop (${done} requests)`)
  return perRequest
}

/** The flush timer's hand-over, timed: wraps the recorder's flush so its cost lands in the measurement. */
let handOverMs = 0
const recorder = accounting.recorder as unknown as { flush: () => void }
const flush = recorder.flush.bind(recorder)
recorder.flush = () => {
  const started = performance.now()
  flush()
  handOverMs += performance.now() - started
}

const admit = (item: ExchangeResult) => {
  const admission = limiter.admit(principal, 'ollama', 'llama3.2:3b', 600)
  if (admission instanceof Error) throw admission
  admission.release(item.usage!.completionTokens! + item.usage!.promptTokens!)
}
/** The least of the rounds: this machine is shared, and other work only ever adds time. */
const results: Record<string, number> = {}
const keep = (name: string, value: number) => (results[name] = Math.min(results[name] ?? Infinity, value))
const rounds = Number(values.rounds)
for (let round = 0; round < rounds; round++) {
  keep('limits', await measure('limits (admit + release)', admit))
  handOverMs = 0
  const usage = await measure('usage (row + record)', accounting.record)
  console.log(`  + hand-over: ${((handOverMs * 1000) / total).toFixed(3)} µs per request`)
  keep('usage', usage + (handOverMs * 1000) / total)
  keep('log', await measure('request log line', logLine))
  handOverMs = 0
  const all = await measure('limits + usage + log', (item) => {
    admit(item)
    accounting.record(item)
    logLine(item)
  })
  keep('all', all + (handOverMs * 1000) / total)
}
await accounting.close()
const rows = (store.db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n
store.close()
console.log(
  JSON.stringify({ perRequestUs: results, rowsWritten: rows, expected: total * 2 * rounds, logBytes: logged }),
)
console.log(
  `goal: limits + usage ≤ 2 µs per request: ${results.limits! + results.usage! <= 2 ? 'met' : 'MISSED'} ` +
    `(${(results.limits! + results.usage!).toFixed(2)} µs)`,
)
