// The database bench/adminViews.ts reads: `rows` usage rows over 90 days up to `end` — 200 users of Zipf-like
// activity, 1000 keys (5 a user), 20 models (each user on one to four, popular ones more often), busier in working
// hours, about 2 % errors — written through UsageStore.write, the writer thread's own path, so that every rollup is
// exactly what the server would have made of the same rows. One transaction, no journal to disk: minutes for 10 M.
import Database from 'better-sqlite3'
import { randomUUID } from 'node:crypto'
import { migrate } from '../src/store/migrations.js'
import { UsageStore } from '../src/store/usage.js'
import type { UsageRow } from '../src/usage/usageRow.js'

export const userCount = 200
export const keyCount = 1000
export const modelNames = Array.from({ length: 20 }, (_, i) => `model-${String(i).padStart(2, '0')}:latest`)
export const days = 90
const dayMs = 86_400_000
const minuteMs = 60_000
const batchRows = 4096

/** A seeded generator (mulberry32): the same database on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Picks index i with probability proportional to weights[i] (cumulative table, binary search). */
function picker(weights: number[], next: () => number): () => number {
  const cumulative: number[] = []
  let total = 0
  for (const weight of weights) cumulative.push((total += weight))
  return () => {
    const target = next() * total
    let low = 0
    let high = cumulative.length - 1
    while (low < high) {
      const middle = (low + high) >> 1
      if (cumulative[middle]! < target) low = middle + 1
      else high = middle
    }
    return low
  }
}

/** Traffic by hour of day (UTC): a working-day bump on a steady floor. */
function hourWeight(hour: number): number {
  return 0.3 + Math.max(0, Math.sin(((hour - 6) / 14) * Math.PI))
}

export interface Generated {
  rows: number
  seconds: number
  /** CPU time the generation took (this process): the wall time of a loaded machine says little. */
  cpuSeconds: number
}

/** The indexes of the usage table, built once after the rows (a sort) rather than row by row. */
const rowIndexes = [
  'CREATE INDEX usage_time ON usage (time)',
  'CREATE INDEX usage_user_time ON usage (user_id, time)',
  'CREATE INDEX usage_model_time ON usage (model, time)',
]

export function generate(path: string, rows: number, end: number): Generated {
  const started = performance.now()
  const cpu = process.cpuUsage()
  const db = new Database(path)
  migrate(db)
  // A throwaway file: no durability needed while it is built, only speed.
  db.pragma('journal_mode = MEMORY')
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -1000000')
  const next = random(14)
  const insertUser = db.prepare(
    `INSERT INTO users (id, username, role, active, created_at, updated_at) VALUES (?, ?, 'user', 1, 0, 0)`,
  )
  for (let id = 1; id <= userCount; id++) insertUser.run(id, `user${id}`)
  const pickUser = picker(
    Array.from({ length: userCount }, (_, i) => 1 / (i + 1)),
    next,
  )
  const pickModel = picker(
    modelNames.map((_, i) => 1 / (i + 1)),
    next,
  )
  const userModels = Array.from({ length: userCount }, () =>
    Array.from({ length: 1 + Math.floor(next() * 4) }, () => modelNames[pickModel()]!),
  )
  const keyApi = Array.from({ length: keyCount }, () => (next() < 0.7 ? 'ollama' : 'openai'))
  const start = end - days * dayMs
  const minutes = days * 24 * 60
  let weightSum = 0
  for (let m = 0; m < minutes; m++) weightSum += hourWeight(Math.floor(m / 60) % 24)
  const store = new UsageStore(db)
  let batch: UsageRow[] = []
  let written = 0
  let owed = 0
  db.exec('DROP INDEX usage_time; DROP INDEX usage_user_time; DROP INDEX usage_model_time')
  db.transaction(() => {
    for (let m = 0; m < minutes; m++) {
      owed += (hourWeight(Math.floor(m / 60) % 24) / weightSum) * rows
      const count = m === minutes - 1 ? rows - written : Math.floor(owed)
      owed -= count
      for (let j = 0; j < count; j++) {
        const row = usageRow(
          start + m * minuteMs + Math.floor((j * minuteMs) / count),
          next,
          pickUser,
          userModels,
          keyApi,
        )
        batch.push(row)
        written++
        if (batch.length === batchRows) {
          store.write(batch, end)
          batch = []
        }
      }
    }
    store.write(batch, end)
  })()
  for (const index of rowIndexes) db.exec(index)
  db.pragma('journal_mode = WAL')
  db.close()
  const used = process.cpuUsage(cpu)
  return {
    rows: written,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  }
}

function usageRow(
  time: number,
  next: () => number,
  pickUser: () => number,
  userModels: string[][],
  keyApi: string[],
): UsageRow {
  const user = pickUser()
  const key = user + userCount * Math.floor(next() * (keyCount / userCount))
  const models = userModels[user]!
  const model = models[Math.floor(next() * models.length)]!
  const roll = next()
  // 98 % answered; of the rest: rate-limited, refused (bad request, unknown model) before any backend, or failed there.
  const status = roll < 0.98 ? 200 : roll < 0.988 ? 429 : roll < 0.994 ? (roll < 0.991 ? 400 : 404) : 502
  const reached = status === 200 || status === 502
  const answered = status === 200
  // Log-normal around 900 ms: most replies take about a second, a long tail takes minutes.
  const duration = reached ? Math.exp(Math.log(900) + 1.1 * normal(next)) : 0.2 + next()
  const prompt = answered ? 20 + Math.floor(next() * 2000) : null
  const completion = answered ? 10 + Math.floor(next() * 800) : null
  return {
    time,
    requestId: randomUUID(),
    userId: user + 1,
    username: `user${user + 1}`,
    keyId: `key${String(key).padStart(4, '0')}`,
    api: keyApi[key]!,
    route: keyApi[key] === 'ollama' ? 'chat' : 'chat_completions',
    model,
    backend: reached ? `gpu${1 + (key % 3)}` : null,
    status,
    errorCode: status === 200 ? null : status === 429 ? 'rate_limit_exceeded' : 'upstream_error',
    promptTokens: prompt,
    completionTokens: completion,
    tokens: answered ? 'exact' : 'none',
    ttfbMs: reached ? Math.round(duration * 0.1) : null,
    durationMs: Math.round(duration * 1000) / 1000,
    queueMs: 0,
    bytesIn: 400,
    bytesOut: answered ? 4000 : 200,
    clientIp: `10.0.${user % 256}.${key % 256}`,
    clientAborted: false,
    cost: ((prompt ?? 0) * 0.1 + (completion ?? 0) * 0.2) / 1e6,
    cache: null,
    freeTokens: false,
  }
}

/** A standard normal draw (Box–Muller). */
function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
}
