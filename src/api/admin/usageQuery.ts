// What the usage views' query strings ask for, checked: the window (since/until, bounded per view), the caller's
// narrowing (everyone sees their own usage; with view_usage, anyone's), and the list parameters. Each bad value is a
// 400 that names it.
import { normalizeModel } from '../../auth/modelAllowList.js'
import type { Principal } from '../../auth/principal.js'
import { parseInstant } from '../../config/schemaTypes.js'
import { GatewayError } from '../../errors.js'
import type { Store } from '../../store/store.js'
import type { UsageFilter } from '../../store/usage.js'

const dayMs = 86_400_000

/**
 * Bounds of one query, so that no caller can make the database (and with it every request: better-sqlite3 runs on the
 * event loop) work without end: a page of raw rows, the window of raw rows (read by an index of `usage`), and the
 * window of a report (from the rollups).
 */
export const usageQueryBounds = { maxPage: 500, defaultPage: 100, maxRowsWindowDays: 7, maxReportWindowDays: 366 }

/** The window `since`..`until` (until: now when absent), read at one clock reading. */
export function windowOf(
  query: URLSearchParams,
  defaultSince: string,
  maxWindowDays: number,
  now = Date.now(),
): { since: number; until: number | undefined } | GatewayError {
  const since = instant(query.get('since') ?? defaultSince, 'since', now)
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
  return { since, until }
}

/** The filter a query asks for, narrowed to the caller's own usage unless they may view everyone's. */
export function usageFilter(
  query: URLSearchParams,
  principal: Principal,
  store: Store,
  maxWindowDays: number,
): UsageFilter | GatewayError {
  const window = windowOf(query, '7d', maxWindowDays)
  if (window instanceof GatewayError) return window
  const filter: UsageFilter = {
    ...window,
    keyId: query.get('key') ?? undefined,
    model: query.has('model') ? normalizeModel(query.get('model')!) : undefined,
    api: query.get('api') ?? undefined,
  }
  const userId = userOf(query, principal, store)
  return userId instanceof GatewayError ? userId : { ...filter, userId }
}

/** The user a query narrows to: the caller unless they may view everyone's usage; undefined is everyone. */
export function userOf(query: URLSearchParams, principal: Principal, store: Store): number | undefined | GatewayError {
  const user = query.get('user')
  if (!principal.permissions.has('view_usage')) {
    if (user !== null && user.toLowerCase() !== principal.username.toLowerCase()) {
      return new GatewayError('permission_denied', "only your own usage: viewing another user's needs view_usage")
    }
    return principal.userId
  }
  if (user === null) return undefined
  const found = store.users.find(user)
  if (!found) return new GatewayError('invalid_request', `no user "${user}"`)
  return found.id
}

/** `?limit=`: 1..maxPage, defaultPage when absent. */
export function pageLimit(query: URLSearchParams): number | GatewayError {
  const { maxPage, defaultPage } = usageQueryBounds
  const text = query.get('limit')
  const limit = text === null ? defaultPage : Number(text)
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPage || (text !== null && !/^\d+$/.test(text))) {
    return new GatewayError(
      'invalid_request',
      `"limit" must be a whole number from 1 to ${maxPage} (the most items one page holds)`,
    )
  }
  return limit
}

function instant(text: string, name: string, now: number): number | GatewayError {
  return parseInstant(text, now) ?? new GatewayError('invalid_request', `"${name}" must be a duration (7d) or a date`)
}
