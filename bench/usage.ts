// `npm run bench:usage [-- --rate 20000 --seconds 10]`: the usage recorder under a sustained stream of rows, with the
// real flush timer and a real SQLite file. Goal: 20,000 rows/s recorded with the event-loop lag p99 under 5 ms.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { createLogger } from '../src/logger.js'
import { openStore } from '../src/store/store.js'
import { UsageRecorder } from '../src/usage/recorder.js'
import type { UsageRow } from '../src/usage/usageRow.js'

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '10' } },
})
const rate = Number(values.rate)
const seconds = Number(values.seconds)

const path = join(mkdtempSync(join(tmpdir(), 'parallama-bench-usage-')), 'usage.db')
const store = openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true })
const recorder = new UsageRecorder(
  { path, busyTimeoutMs: 5000 },
  { flushIntervalMs: 100, flushRows: 2000 },
  createLogger('warn'),
)
recorder.start()

const models = ['llama3.2:3b', 'qwen2.5:0.5b', 'nomic-embed-text:latest']
function row(i: number): UsageRow {
  return {
    time: Date.now(),
    requestId: `bench-${i}`,
    userId: (i % 50) + 1,
    username: `user${i % 50}`,
    keyId: `key${i % 200}`,
    api: 'ollama',
    route: 'generate',
    model: models[i % models.length]!,
    backend: 'gpu1',
    status: 200,
    errorCode: null,
    promptTokens: 20 + (i % 30),
    completionTokens: 100 + (i % 200),
    tokens: 'exact',
    ttfbMs: 12.5,
    durationMs: 850.25,
    queueMs: i % 7,
    bytesIn: 180,
    bytesOut: 12_000,
    clientIp: '10.0.0.7',
    clientAborted: false,
    cost: 0.00012,
    cache: null,
    freeTokens: false,
  }
}

const lag = monitorEventLoopDelay({ resolution: 1 })
lag.enable()
// Rows arrive in 1 ms ticks, as request ends would: rate/1000 per tick.
const perTick = rate / 1000
let sent = 0
const cpuBefore = process.cpuUsage()
const started = performance.now()
while (performance.now() - started < seconds * 1000) {
  const due = Math.floor(((performance.now() - started) / 1000) * rate)
  while (sent < due) recorder.record(row(sent++))
  await sleep(1)
}
lag.disable()
await recorder.close()
const cpu = process.cpuUsage(cpuBefore)
const elapsed = (performance.now() - started) / 1000
const written = (store.db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n
store.close()

const result = {
  targetRate: rate,
  achievedRate: Math.round(sent / elapsed),
  rowsWritten: written,
  flushes: recorder.stats.flushes,
  maxWriteMs: Number(recorder.stats.maxFlushMs.toFixed(2)),
  maxHandOverMs: Number(recorder.stats.maxHandOverMs.toFixed(2)),
  lagP50Ms: Number((lag.percentile(50) / 1e6).toFixed(2)),
  lagP99Ms: Number((lag.percentile(99) / 1e6).toFixed(2)),
  lagMaxMs: Number((lag.max / 1e6).toFixed(2)),
  perTick,
  /** CPU time of the whole process (both threads) per row, generating the rows included. */
  cpuUsPerRow: Number(((cpu.user + cpu.system) / sent).toFixed(2)),
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n')
process.stdout.write(
  `goal: ${rate} rows/s with event-loop lag p99 < 5 ms: ${result.lagP99Ms < 5 && written === sent ? 'met' : 'MISSED'}\n`,
)
