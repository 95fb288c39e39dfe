// The usage tables: batches of per-request rows with their hourly rollups in one transaction, reports from the
// rollups, a streaming export of the rows, and retention.
import type Database from 'better-sqlite3'
import type { Db } from './database.js'
import type { UsageRow } from '../usage/usageRow.js'
import { RecentRequests } from './recentRequests.js'
import { reportSql } from './usageReport.js'
import { UsageSeries } from './usageSeries.js'

const hourMs = 3_600_000
const dayMs = 86_400_000

/** A rollup row's key and sums: start, user, key, model, API; requests, errors, prompt, completion tokens, cost. */
type RollupSum = [number, number, string, string, string, number, number, number, number, number]

export interface UsageFilter {
  since?: number
  until?: number
  userId?: number
  keyId?: string
  model?: string
  api?: string
}

export type GroupBy = 'hour' | 'day' | 'model' | 'user' | 'key' | 'api'

export interface ReportRow {
  group: string
  requests: number
  errors: number
  prompt_tokens: number
  completion_tokens: number
  cost: number
}

const rowColumns = `time, request_id, user_id, username, key_id, api, route, model, backend, status, error_code,
  prompt_tokens, completion_tokens, tokens, ttfb_ms, duration_ms, bytes_in, bytes_out, client_ip, client_aborted, cost, queue_ms, cache`
const columnsPerRow = 23
/** Rows per INSERT statement, largest first: a batch is written with as few statements as these sizes allow. */
const insertSizes = [64, 16, 4, 1] as const

export class UsageStore {
  /** One prepared multi-row INSERT per size in insertSizes (one statement per row cost ~2× the CPU). */
  private readonly inserts: Database.Statement[]
  private readonly upsertHour
  private readonly upsertDay
  /** Parameters of the largest INSERT, reused for every statement. */
  private readonly args: unknown[] = new Array(insertSizes[0] * columnsPerRow)
  /** The overview's series per hour and minute (migration 010), written with every batch. */
  readonly series: UsageSeries
  /** The recent requests view: pages of rows, newest first, bounded work per page. */
  readonly recent: RecentRequests

  constructor(private readonly db: Db) {
    this.series = new UsageSeries(db)
    this.recent = new RecentRequests(db)
    const one = `(${new Array(columnsPerRow).fill('?').join(', ')})`
    this.inserts = insertSizes.map((size) =>
      db.prepare(`INSERT INTO usage (${rowColumns}) VALUES ${new Array(size).fill(one).join(', ')}`),
    )
    this.upsertHour = db.prepare(`INSERT INTO usage_hourly (hour, user_id, key_id, model, api, requests, errors,
      prompt_tokens, completion_tokens, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (hour, user_id, key_id, model, api) DO UPDATE SET requests = requests + excluded.requests,
        errors = errors + excluded.errors, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens, cost = cost + excluded.cost`)
    this.upsertDay = db.prepare(`INSERT INTO usage_daily (day, user_id, key_id, model, api, requests, errors,
      prompt_tokens, completion_tokens, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (day, user_id, key_id, model, api) DO UPDATE SET requests = requests + excluded.requests,
        errors = errors + excluded.errors, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens, cost = cost + excluded.cost`)
  }

  /** Writes rows and adds them to their rollups, all or nothing; `now` decides which minutes the series keeps. */
  write(rows: UsageRow[], now = Date.now()): void {
    const hours = new Map<string, RollupSum>()
    for (const row of rows) {
      const hour = row.time - (row.time % hourMs)
      const id = `${hour}\u0000${row.userId ?? 0}\u0000${row.keyId ?? ''}\u0000${row.model ?? ''}\u0000${row.api}`
      const sum = hours.get(id) ?? [hour, row.userId ?? 0, row.keyId ?? '', row.model ?? '', row.api, 0, 0, 0, 0, 0]
      sum[5] += 1
      sum[6] += row.status >= 400 ? 1 : 0
      // A cache hit's tokens stay on its row only: no backend worked for them, and quotas read these sums.
      if (!row.freeTokens) {
        sum[7] += row.promptTokens ?? 0
        sum[8] += row.completionTokens ?? 0
      }
      sum[9] += row.cost
      hours.set(id, sum)
    }
    // The days from the hours: a batch spans a moment, so it adds about one day row per hour row, not per row.
    const days = new Map<string, RollupSum>()
    for (const hour of hours.values()) {
      const day = hour[0] - (hour[0] % dayMs)
      const id = `${day}\u0000${hour[1]}\u0000${hour[2]}\u0000${hour[3]}\u0000${hour[4]}`
      const sum = days.get(id) ?? [day, hour[1], hour[2], hour[3], hour[4], 0, 0, 0, 0, 0]
      for (let i = 5; i < 10; i++) sum[i] = (sum[i] as number) + (hour[i] as number)
      days.set(id, sum)
    }
    this.db.transaction(() => {
      let next = 0
      for (let s = 0; s < insertSizes.length; s++) {
        const size = insertSizes[s]!
        while (rows.length - next >= size) {
          this.insert(s, rows, next, size)
          next += size
        }
      }
      for (const sum of hours.values()) this.upsertHour.run(...sum)
      for (const sum of days.values()) this.upsertDay.run(...sum)
      this.series.write(rows, now)
    })()
  }

  /** One INSERT of `size` rows from `from`. */
  private insert(statement: number, rows: UsageRow[], from: number, size: number): void {
    const args = this.args
    let a = 0
    for (let r = from; r < from + size; r++) {
      const row = rows[r]!
      args[a++] = row.time
      args[a++] = row.requestId
      args[a++] = row.userId
      args[a++] = row.username
      args[a++] = row.keyId
      args[a++] = row.api
      args[a++] = row.route
      args[a++] = row.model
      args[a++] = row.backend
      args[a++] = row.status
      args[a++] = row.errorCode
      args[a++] = row.promptTokens
      args[a++] = row.completionTokens
      args[a++] = row.tokens
      args[a++] = row.ttfbMs
      args[a++] = row.durationMs
      args[a++] = row.bytesIn
      args[a++] = row.bytesOut
      args[a++] = row.clientIp
      args[a++] = row.clientAborted ? 1 : 0
      args[a++] = row.cost
      args[a++] = row.queueMs
      args[a++] = row.cache
    }
    // Statements of fewer rows take a prefix of the array: better-sqlite3 wants exactly their parameter count.
    this.inserts[statement]!.run(a === args.length ? args : args.slice(0, a))
  }

  /** Totals grouped by `by`, from the daily and hourly rollups (fast on any history: usageReport.ts). */
  report(filter: UsageFilter, by: GroupBy): ReportRow[] {
    const { sql, params } = reportSql(filter, by)
    return this.db.prepare(sql).all(params) as ReportRow[]
  }

  /** Every matching row, oldest first, read lazily: millions of rows never sit in memory. */
  rows(filter: UsageFilter): IterableIterator<Record<string, unknown>> {
    const { where, params } = filterClauses(filter, '', 'time')
    return this.db
      .prepare(
        `SELECT request_id, strftime('%Y-%m-%dT%H:%M:%fZ', time / 1000.0, 'unixepoch') AS time, username AS user,
           key_id, api, route, model, backend, status, error_code, prompt_tokens, completion_tokens, tokens,
           ttfb_ms, duration_ms, bytes_in, bytes_out, client_ip, client_aborted, cost, queue_ms, cache
         FROM usage ${where} ORDER BY time, id`,
      )
      .iterate(params) as IterableIterator<Record<string, unknown>>
  }

  /** Tokens (prompt + completion) or requests since `since` of a key or a user, on one API or all: what quotas rebuild from. */
  usedSince(
    since: number,
    owner: { keyId: string } | { userId: number },
    api: string | undefined,
    model: string | undefined,
    counts: 'tokens' | 'requests',
  ): number {
    const value = 'keyId' in owner ? owner.keyId : owner.userId
    const sql = usedSinceSql('keyId' in owner ? 'key' : 'user', counts, api !== undefined, model !== undefined)
    const args: (string | number)[] = [since, value]
    if (api !== undefined) args.push(api)
    if (model !== undefined) args.push(model)
    return this.db
      .prepare(sql)
      .pluck()
      .get(...args) as number
  }

  /** Deletes per-request rows older than `before` (rollups stay); returns how many. */
  deleteBefore(before: number): number {
    return this.db.prepare('DELETE FROM usage WHERE time < ?').run(before).changes
  }
}

/** The quota query (one index each: usage_hourly_key, usage_hourly_user; a test checks the plan). */
export function usedSinceSql(
  owner: 'key' | 'user',
  counts: 'tokens' | 'requests',
  api: boolean,
  model: boolean,
): string {
  const sum = counts === 'tokens' ? 'prompt_tokens + completion_tokens' : 'requests'
  return `SELECT COALESCE(SUM(${sum}), 0) FROM usage_hourly
    WHERE hour >= ? AND ${owner === 'key' ? 'key_id' : 'user_id'} = ?${api ? ' AND api = ?' : ''}${model ? ' AND model = ?' : ''}`
}

/** WHERE clause and parameters for a filter; `timeColumn` is `time` on rows and `hour` on rollups. */
function filterClauses(filter: UsageFilter, prefix: string, timeColumn: string) {
  const clauses: string[] = []
  const params: Record<string, unknown> = {}
  const add = (name: keyof UsageFilter, clause: string, value: unknown) => {
    if (filter[name] === undefined) return
    clauses.push(clause)
    params[name] = value
  }
  // Rollups are hourly: an hour counts when it starts inside the window.
  const since =
    filter.since === undefined ? undefined : filter.since - (timeColumn === 'hour' ? filter.since % hourMs : 0)
  add('since', `${prefix}${timeColumn} >= @since`, since)
  add('until', `${prefix}${timeColumn} < @until`, filter.until)
  add('userId', `${prefix}user_id = @userId`, filter.userId)
  add('keyId', `${prefix}key_id = @keyId`, filter.keyId)
  add('model', `${prefix}model = @model`, filter.model)
  add('api', `${prefix}api = @api`, filter.api)
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params }
}
