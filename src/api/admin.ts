// /admin/v1: each area's handlers (src/api/admin/*.ts) spread into one mount, and the usage data and the scheduler's
// queue over HTTP (everyone sees their own; with view_usage, anyone's).
import { normalizeModel } from '../auth/modelAllowList.js'
import type { TemplatedApp } from '../../native/uws.js'
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/schema.js'
import { parseInstant } from '../config/schemaTypes.js'
import { GatewayError } from '../errors.js'
import type { ModelQueueSnapshot } from '../scheduler/schedulerTypes.js'
import type { Store } from '../store/store.js'
import type { GroupBy, UsageFilter, UsageStore } from '../store/usage.js'
import type { JsonRouteContext } from './jsonRoute.js'
import { mountLocalRoutes } from './routes.js'
import { keysHandlers } from './admin/keys.js'
import { limitsHandlers } from './admin/limits.js'
import { openApiHandlers } from './admin/openApi.js'
import { usersHandlers } from './admin/users.js'
import { webhooksHandlers } from './admin/webhooks.js'
import { backendHandlers, type BackendsContext } from './admin/backends.js'
import { modelHandlers, type ModelsContext } from './admin/models.js'

export interface AdminRoutesContext extends JsonRouteContext {
  store: Store
  /** The running config (a reload replaces it): key rotation's default grace. */
  config: () => Config
  usage: UsageStore
  /** Writes queued usage rows now, so that a report includes the requests just made. */
  flushUsage: () => Promise<void>
  /** The scheduler's queues per model (src/scheduler/queueSnapshot.ts), all users' or one user's. */
  queue: (onlyUser?: string) => ModelQueueSnapshot[]
  /** The backends' live state and drain (src/api/admin/backends.ts). */
  backendAdmin: BackendsContext
  /** The model inventory, pull, delete, copy (src/api/admin/models.ts). */
  modelAdmin: ModelsContext
}

const groups: readonly GroupBy[] = ['hour', 'day', 'model', 'user', 'key', 'api']
const dayMs = 86_400_000
/**
 * Bounds of one query, so that no caller can make the database (and with it every request: better-sqlite3 runs on the
 * event loop) scan without end: a page of raw rows, the window of raw rows (read by the `usage (time)` index), and the
 * window of a report (from the hourly rollups).
 */
export const usageQueryBounds = { maxRows: 1000, maxRowsWindowDays: 7, maxReportWindowDays: 366 }

export function mountAdminRoutes(app: TemplatedApp, context: AdminRoutesContext): void {
  mountLocalRoutes(app, 'admin', context, {
    ...openApiHandlers(),
    ...usersHandlers(context),
    ...keysHandlers(context),
    ...limitsHandlers(context),
    ...webhooksHandlers(context),
    ...backendHandlers(context.backendAdmin),
    ...modelHandlers(context.modelAdmin),
    usage: async ({ request, principal }) => {
      const query = new URLSearchParams(request.query)
      const filter = usageFilter(query, principal!, context.store, usageQueryBounds.maxReportWindowDays)
      if (filter instanceof GatewayError) return filter
      const by = query.get('by') ?? 'day'
      if (!(groups as readonly string[]).includes(by)) {
        return new GatewayError('invalid_request', `"by" must be one of ${groups.join(', ')}`)
      }
      await context.flushUsage()
      return { status: 200, body: { by, rows: context.usage.report(filter, by as GroupBy) } }
    },
    // Who waits and who runs, per model: everyone's with view_usage, else the caller's own requests only.
    queue: ({ principal }) => {
      const all = principal!.permissions.has('view_usage')
      return { status: 200, body: { models: context.queue(all ? undefined : principal!.username) } }
    },
    usage_requests: async ({ request, principal }) => {
      const query = new URLSearchParams(request.query)
      const filter = usageFilter(query, principal!, context.store, usageQueryBounds.maxRowsWindowDays)
      if (filter instanceof GatewayError) return filter
      const { maxRows } = usageQueryBounds
      const limit = Number(query.get('limit') ?? maxRows)
      if (!Number.isInteger(limit) || limit < 1 || limit > maxRows) {
        return new GatewayError(
          'invalid_request',
          `"limit" must be a whole number from 1 to ${maxRows} (the most rows one page holds)`,
        )
      }
      await context.flushUsage()
      const rows: Record<string, unknown>[] = []
      for (const row of context.usage.rows(filter)) {
        if (rows.length === limit) break
        rows.push(row)
      }
      return { status: 200, body: { rows, truncated: rows.length === limit } }
    },
  })
}

/** The filter a query asks for, narrowed to the caller's own usage unless they may view everyone's. */
function usageFilter(
  query: URLSearchParams,
  principal: Principal,
  store: Store,
  maxWindowDays: number,
): UsageFilter | GatewayError {
  // One clock reading: `since=7d` read at one millisecond and "now" at the next would span more than 7 days.
  const now = Date.now()
  const since = instant(query.get('since') ?? '7d', 'since', now)
  const until = query.get('until') === null ? undefined : instant(query.get('until')!, 'until', now)
  if (since instanceof GatewayError) return since
  if (until instanceof GatewayError) return until
  const windowMs = (until ?? now) - since
  if (windowMs > maxWindowDays * dayMs) {
    return new GatewayError(
      'invalid_request',
      `"since" to "until" spans ${Math.ceil(windowMs / dayMs)} days; one query covers at most ${maxWindowDays} days ` +
        '(ask for the rest with another since/until)',
    )
  }
  const filter: UsageFilter = {
    since,
    until,
    keyId: query.get('key') ?? undefined,
    model: query.has('model') ? normalizeModel(query.get('model')!) : undefined,
    api: query.get('api') ?? undefined,
  }
  const user = query.get('user')
  if (!principal.permissions.has('view_usage')) {
    if (user !== null && user.toLowerCase() !== principal.username.toLowerCase()) {
      return new GatewayError('permission_denied', "only your own usage: viewing another user's needs view_usage")
    }
    return { ...filter, userId: principal.userId }
  }
  if (user === null) return filter
  const found = store.users.find(user)
  if (!found) return new GatewayError('invalid_request', `no user "${user}"`)
  return { ...filter, userId: found.id }
}

function instant(text: string, name: string, now: number): number | GatewayError {
  return parseInstant(text, now) ?? new GatewayError('invalid_request', `"${name}" must be a duration (7d) or a date`)
}
