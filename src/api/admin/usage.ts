// /admin/v1/usage (totals from the rollups, as JSON or CSV) and /admin/v1/usage/requests (recent requests, newest
// first, a bounded page at a time). Everyone sees their own usage; with view_usage, anyone's.
import { recordOk } from '../../admin/auditTrail.js'
import { normalizeModel } from '../../auth/modelAllowList.js'
import type { Principal } from '../../auth/principal.js'
import { GatewayError } from '../../errors.js'
import {
  decodeCursor,
  encodeCursor,
  type Position,
  type RecentFilter,
  type StatusFilter,
} from '../../store/recentRequests.js'
import type { Store } from '../../store/store.js'
import type { GroupBy, ReportRow, UsageStore } from '../../store/usage.js'
import { csvField } from '../../usage/csv.js'
import type { JsonHandler } from '../jsonRoute.js'
import { pageLimit, usageFilter, usageQueryBounds, userOf, windowOf } from './usageQuery.js'

export interface UsageContext {
  store: Store
  usage: UsageStore
  /** Writes queued usage rows now, so that a view includes the requests just made. */
  flushUsage: () => Promise<void>
}

const groups: readonly GroupBy[] = ['hour', 'day', 'model', 'user', 'key', 'api']
const reportColumns: readonly (keyof ReportRow)[] = [
  'group',
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'cost',
]

export function usageHandlers(context: UsageContext): Record<string, JsonHandler> {
  return {
    usage: async ({ request, principal, trail }) => {
      const query = new URLSearchParams(request.query)
      const filter = usageFilter(query, principal!, context.store, usageQueryBounds.maxReportWindowDays)
      if (filter instanceof GatewayError) return filter
      const by = query.get('by') ?? 'day'
      if (!(groups as readonly string[]).includes(by)) {
        return new GatewayError('invalid_request', `"by" must be one of ${groups.join(', ')}`)
      }
      const format = query.get('format') ?? 'json'
      if (format !== 'json' && format !== 'csv') {
        return new GatewayError('invalid_request', '"format" must be json or csv')
      }
      await context.flushUsage()
      recordOk(trail, 'usage.export', usageTarget(filter.userId, context.store), {
        by,
        format,
        since: query.get('since'),
      })
      const rows = context.usage.report(filter, by as GroupBy)
      if (format === 'json') return { status: 200, body: { by, rows } }
      // A report is bounded (366 days of rollups, grouped): one body, no stream needed.
      return { status: 200, contentType: 'text/csv; charset=utf-8', text: reportCsv(rows) }
    },
    usage_requests: async ({ request, principal, trail }) => {
      const query = new URLSearchParams(request.query)
      const filter = recentFilter(query, principal!, context.store)
      if (filter instanceof GatewayError) return filter
      const limit = pageLimit(query)
      if (limit instanceof GatewayError) return limit
      let after: Position | undefined
      const cursor = query.get('cursor')
      if (cursor !== null) {
        after = decodeCursor(cursor)
        if (!after) return new GatewayError('invalid_request', '"cursor" is not one this API handed out')
      }
      await context.flushUsage()
      recordOk(trail, 'usage.requests.read', usageTarget(filter.userId, context.store), { limit })
      const page = context.usage.recent.page(filter, limit, after)
      return { status: 200, body: { items: page.items, next_cursor: page.next ? encodeCursor(page.next) : null } }
    },
  }
}

/** Whose usage was read: one user's, or everyone's (null). */
function usageTarget(userId: number | undefined, store: UsageContext['store']): string | null {
  if (userId === undefined) return null
  return `user:${store.users.byId(userId)?.username ?? `#${userId}`}`
}

/** RFC 4180 with a header line; text cells that a spreadsheet would run as a formula are defused (csv.ts). */
export function reportCsv(rows: readonly ReportRow[]): string {
  const lines = [reportColumns.join(',')]
  for (const row of rows) lines.push(reportColumns.map((column) => csvField(row[column])).join(','))
  return lines.join('\r\n') + '\r\n'
}

function recentFilter(query: URLSearchParams, principal: Principal, store: Store): RecentFilter | GatewayError {
  const now = Date.now()
  const window = windowOf(query, '7d', usageQueryBounds.maxRowsWindowDays, now)
  if (window instanceof GatewayError) return window
  const userId = userOf(query, principal, store)
  if (userId instanceof GatewayError) return userId
  const status = statusFilter(query.get('status'))
  if (status instanceof GatewayError) return status
  const requestId = query.get('request_id')
  return {
    since: window.since,
    until: window.until ?? now + 1,
    userId,
    model: query.has('model') ? normalizeModel(query.get('model')!) : undefined,
    keyId: query.get('key') ?? undefined,
    api: query.get('api') ?? undefined,
    status,
    requestId: requestId === null || requestId === '' ? undefined : requestId,
  }
}

/** `status=429` (one code), `5xx` (a class) or `error` (every 4xx and 5xx). */
export function statusFilter(text: string | null): StatusFilter | undefined | GatewayError {
  if (text === null || text === '') return undefined
  if (/^[1-5]\d\d$/.test(text)) return { exact: Number(text) }
  const status = /^([1-5])xx$/i.exec(text)
  if (status) return { from: Number(status[1]) * 100, to: Number(status[1]) * 100 + 99 }
  if (text === 'error') return { from: 400, to: 599 }
  return new GatewayError('invalid_request', `"status" must be a code (429), a class (5xx) or "error", not "${text}"`)
}
