// The usage series (migration 010): per hour and per minute, for everyone and per user, requests, errors, tokens and
// a latency histogram. Written with each batch of usage rows, on the writer thread, in the batch's transaction (a
// batch adds a handful of upserts, whatever its size); read by the overview, a few hundred rows per answer.
import type Database from 'better-sqlite3'
import type { Db } from './database.js'
import type { UsageRow } from '../usage/usageRow.js'
import {
  addLatencyBlob,
  emptyLatency,
  latencyBlob,
  latencyBucket,
  latencyQuantile,
  sumLatencyBlobs,
} from '../usage/latencyBuckets.js'

export const hourStep = 3_600_000
export const minuteStep = 60_000
/** The series of everyone, beside each user's own (user ids are positive, 0 is anonymous). */
export const everyone = -1
/** Minutes are kept for a day and an hour (a day's view plus the hour a prune may lag). */
export const minuteRetentionMs = 25 * hourStep
/** How often the writer deletes minutes past their retention. */
const pruneEveryMs = 10 * minuteStep

/** One series over a window (a test checks its plan: the primary key, by step, user and start). */
export const seriesSql = `SELECT start, requests, errors, prompt_tokens, completion_tokens, latency
  FROM usage_series WHERE step = ? AND user_id = ? AND start >= ? AND start < ? ORDER BY start`

interface Sum {
  step: number
  userId: number
  start: number
  requests: number
  errors: number
  promptTokens: number
  completionTokens: number
  latency: Uint32Array
}

export interface SeriesPoint {
  time: number
  requests: number
  errors: number
  prompt_tokens: number
  completion_tokens: number
  latency_p50_ms: number | null
  latency_p95_ms: number | null
}

export class UsageSeries {
  private readonly upsert: Database.Statement
  private readonly prune: Database.Statement
  private readonly read: Database.Statement
  private nextPrune = 0

  constructor(db: Db) {
    // The upsert adds histograms bucket by bucket with this function; it exists on every connection a UsageStore uses.
    db.function('usage_latency_sum', { deterministic: true }, (a: unknown, b: unknown) =>
      sumLatencyBlobs(a as Uint8Array, b as Uint8Array),
    )
    this.upsert = db.prepare(`INSERT INTO usage_series (step, user_id, start, requests, errors, prompt_tokens,
      completion_tokens, latency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (step, user_id, start) DO UPDATE SET requests = requests + excluded.requests,
        errors = errors + excluded.errors, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        latency = usage_latency_sum(latency, excluded.latency)`)
    this.prune = db.prepare(`DELETE FROM usage_series WHERE step = ${minuteStep} AND start < ?`)
    this.read = db.prepare(seriesSql)
  }

  /**
   * Adds a batch's rows to their hours and minutes (a minute only while it is within its retention at `now`), and
   * every ten minutes drops the minutes past it. Call inside the batch's transaction.
   */
  write(rows: readonly UsageRow[], now: number): void {
    const sums = new Map<string, Sum>()
    const minutesFrom = now - minuteRetentionMs
    for (const row of rows) {
      const userId = row.userId ?? 0
      const hour = row.time - (row.time % hourStep)
      add(sums, row, hourStep, everyone, hour)
      add(sums, row, hourStep, userId, hour)
      if (row.time >= minutesFrom) {
        const minute = row.time - (row.time % minuteStep)
        add(sums, row, minuteStep, everyone, minute)
        add(sums, row, minuteStep, userId, minute)
      }
    }
    for (const sum of sums.values()) {
      this.upsert.run(
        sum.step,
        sum.userId,
        sum.start,
        sum.requests,
        sum.errors,
        sum.promptTokens,
        sum.completionTokens,
        latencyBlob(sum.latency),
      )
    }
    if (now >= this.nextPrune) {
      this.prune.run(minutesFrom - (minutesFrom % minuteStep))
      this.nextPrune = now + pruneEveryMs
    }
  }

  /** The points of one series from `since` (rounded down to its step) to `until`, oldest first; empty steps left out. */
  points(step: number, userId: number, since: number, until: number): SeriesPoint[] {
    const rows = this.read.all(step, userId, since - (since % step), until) as {
      start: number
      requests: number
      errors: number
      prompt_tokens: number
      completion_tokens: number
      latency: Buffer
    }[]
    return rows.map((row) => {
      const latency = emptyLatency()
      addLatencyBlob(latency, row.latency)
      return {
        time: row.start,
        requests: row.requests,
        errors: row.errors,
        prompt_tokens: row.prompt_tokens,
        completion_tokens: row.completion_tokens,
        latency_p50_ms: roundMs(latencyQuantile(latency, 0.5)),
        latency_p95_ms: roundMs(latencyQuantile(latency, 0.95)),
      }
    })
  }
}

function add(sums: Map<string, Sum>, row: UsageRow, step: number, userId: number, start: number): void {
  const id = `${step}:${userId}:${start}`
  let sum = sums.get(id)
  if (!sum) {
    sum = { step, userId, start, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, latency: emptyLatency() }
    sums.set(id, sum)
  }
  sum.requests += 1
  sum.errors += row.status >= 400 ? 1 : 0
  // A cache hit's tokens were no backend's work (and, unless cache.count_tokens, no quota's).
  if (!row.freeTokens) {
    sum.promptTokens += row.promptTokens ?? 0
    sum.completionTokens += row.completionTokens ?? 0
  }
  // Only requests that reached a backend: a refusal's microseconds say nothing of the backends' latency.
  if (row.backend !== null) sum.latency[latencyBucket(row.durationMs)]! += 1
}

function roundMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10
}
