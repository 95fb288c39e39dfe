// Recent requests, newest first, a page at a time — bounded whatever the filters and however many rows the table
// holds. Rows are read from an index in its order: by user (usage_user_time), else by model (usage_model_time), else by
// time (usage_time); the filters no index serves (status, request id, key, API, a model beside a user) are checked on
// at most `scanBudget` index entries per page. A page that reaches the budget before `limit` matches ends there, with
// a cursor to go on from: each answer costs at most the budget's row reads, never a scan of the table.
import type Database from 'better-sqlite3'
import type { Db } from './database.js'

/** Which statuses a filter takes: one code, or a range (4xx, 5xx, every error). */
export type StatusFilter = { exact: number } | { from: number; to: number }

export interface RecentFilter {
  /** The window: rows with since <= time < until. */
  since: number
  until: number
  userId?: number
  model?: string
  keyId?: string
  api?: string
  status?: StatusFilter
  requestId?: string
}

/** Where a page ends: the last row read, newest-first order; the next page starts strictly after it. */
export interface Position {
  time: number
  id: number
}

export interface RecentPage {
  items: Record<string, unknown>[]
  /** Where to go on from, or null: no row of the window is left. */
  next: Position | null
}

/** Index entries one page may read past its matches (a test and bench/adminViews.ts hold it to ≤ 200 ms). */
export const scanBudget = 10_000

export const recentColumns = `request_id, strftime('%Y-%m-%dT%H:%M:%fZ', time / 1000.0, 'unixepoch') AS time,
  username AS user, key_id, api, route, model, backend, status, error_code, prompt_tokens, completion_tokens, tokens,
  ttfb_ms, duration_ms, bytes_in, bytes_out, client_ip, client_aborted, cost, queue_ms, cache`

interface Plan {
  /** The index read, and its conditions (the window and the cursor included). */
  index: string
  indexed: string[]
  /** What the index does not answer: checked row by row, within the budget. */
  rest: string[]
}

/** The query plan of a filter: the index that narrows most and the conditions left over. */
export function planOf(filter: RecentFilter, after: Position | undefined): Plan {
  const indexed = ['time >= @since', after ? '(time, id) < (@afterTime, @afterId)' : 'time < @until']
  const rest: string[] = []
  let index = 'usage_time'
  if (filter.userId !== undefined) {
    index = 'usage_user_time'
    indexed.unshift('user_id = @userId')
    if (filter.model !== undefined) rest.push('model = @model')
  } else if (filter.model !== undefined) {
    index = 'usage_model_time'
    indexed.unshift('model = @model')
  }
  if (filter.keyId !== undefined) rest.push('key_id = @keyId')
  if (filter.api !== undefined) rest.push('api = @api')
  if (filter.status !== undefined) {
    rest.push('exact' in filter.status ? 'status = @status' : 'status BETWEEN @statusFrom AND @statusTo')
  }
  if (filter.requestId !== undefined) rest.push('request_id = @requestId')
  return { index, indexed, rest }
}

/** The parameters of a filter's statements, by the names planOf uses. */
export function paramsOf(filter: RecentFilter, after: Position | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = { since: filter.since, until: filter.until }
  // A cursor past the window's end starts at the end: before (until, 0) is before `until` (ids start at 1).
  if (after) {
    const inside = after.time < filter.until
    Object.assign(params, { afterTime: inside ? after.time : filter.until, afterId: inside ? after.id : 0 })
  }
  if (filter.userId !== undefined) params.userId = filter.userId
  if (filter.model !== undefined) params.model = filter.model
  if (filter.keyId !== undefined) params.keyId = filter.keyId
  if (filter.api !== undefined) params.api = filter.api
  if (filter.requestId !== undefined) params.requestId = filter.requestId
  if (filter.status !== undefined) {
    if ('exact' in filter.status) params.status = filter.status.exact
    else Object.assign(params, { statusFrom: filter.status.from, statusTo: filter.status.to })
  }
  return params
}

/** The statements of a page: where the budget ends (index only), and the rows. Exported for the plan test. */
export function pageSql(plan: Plan, budgeted: boolean, budget = scanBudget): { boundary: string; rows: string } {
  // Qualified: a bare `time` in ORDER BY would name the formatted column of the result (`... AS time`), which no index
  // holds, and the page would sort every row of the window.
  const order = 'ORDER BY usage.time DESC, usage.id DESC'
  const where = plan.indexed.join(' AND ')
  const boundary = `SELECT time, id FROM usage INDEXED BY ${plan.index} WHERE ${where} ${order} LIMIT 1 OFFSET ${budget - 1}`
  const conditions = [...plan.indexed, ...plan.rest]
  if (budgeted) conditions.push('(time, id) >= (@boundaryTime, @boundaryId)')
  const rows = `SELECT id AS _id, time AS _time, ${recentColumns} FROM usage INDEXED BY ${plan.index}
    WHERE ${conditions.join(' AND ')} ${order} LIMIT @limit`
  return { boundary, rows }
}

export class RecentRequests {
  /** Statements by their SQL: a handful of filter shapes, each prepared once. */
  private readonly statements = new Map<string, Database.Statement>()

  constructor(
    private readonly db: Db,
    /** Index entries a page reads at most past its matches (smaller in tests, to cross page ends often). */
    private readonly budget = scanBudget,
  ) {}

  page(filter: RecentFilter, limit: number, after?: Position): RecentPage {
    const plan = planOf(filter, after)
    const params = paramsOf(filter, after)
    // Without conditions beyond the index, LIMIT alone bounds the page: `limit` entries read, each one a match.
    const boundary =
      plan.rest.length > 0
        ? (this.statement(pageSql(plan, false, this.budget).boundary).get(params) as Position | undefined)
        : undefined
    const sql = pageSql(plan, boundary !== undefined, this.budget).rows
    const rows = this.statement(sql).all({
      ...params,
      ...(boundary ? { boundaryTime: boundary.time, boundaryId: boundary.id } : {}),
      limit,
    }) as (Record<string, unknown> & { _id: number; _time: number })[]
    const items = rows.map(({ _id, _time, ...item }) => item)
    const last = rows.at(-1)
    const next =
      rows.length === limit && last
        ? { time: last._time, id: last._id }
        : // The budget ran out before `limit` matches: go on from the last entry read.
          (boundary ?? null)
    return { items, next }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }
}

/** A cursor as the API hands it out: opaque to callers, `time.id` in base64url. */
export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.time}.${position.id}`).toString('base64url')
}

export function decodeCursor(cursor: string): Position | undefined {
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  if (!match) return undefined
  const position = { time: Number(match[1]), id: Number(match[2]) }
  return Number.isSafeInteger(position.time) && Number.isSafeInteger(position.id) ? position : undefined
}
