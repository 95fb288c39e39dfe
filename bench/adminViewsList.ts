// The views bench/adminViews.ts times: each is what one dashboard page asks the admin API for, as the service calls
// that answer it. Each returns how many items it found (a view that finds nothing is no measurement).
import { everyone, hourStep, minuteStep } from '../src/store/usageSeries.js'
import type { RecentFilter } from '../src/store/recentRequests.js'
import type { GroupBy, UsageStore } from '../src/store/usage.js'
import { reportCsv } from '../src/api/admin/usage.js'

export interface View {
  name: string
  run: () => number
}

const hourMs = 3_600_000
const dayMs = 86_400_000

export function adminViews(
  usage: UsageStore,
  known: { model: string; sample: { request_id: string; time: number } },
): View[] {
  const now = Date.now()
  const overview = (name: string, windowMs: number, step: number, userId = everyone): View => ({
    name,
    run: () => usage.series.points(step, userId, now - windowMs, now).length,
  })
  const report = (by: GroupBy, userId?: number): View => ({
    name: `usage by ${by} 30d${userId ? ' (one user)' : ''}`,
    run: () => usage.report({ since: now - 30 * dayMs, userId }, by).length,
  })
  const recent = (name: string, filter: Partial<RecentFilter>): View => ({
    name: `requests ${name}`,
    run: () => usage.recent.page({ since: now - 7 * dayMs, until: now, ...filter }, 100).items.length,
  })
  return [
    overview('overview 24h by minute', dayMs, minuteStep),
    overview('overview 24h by hour', dayMs, hourStep),
    overview('overview 7d by hour', 7 * dayMs, hourStep),
    overview('overview 30d by hour', 30 * dayMs, hourStep),
    overview('overview 30d by hour (one user)', 30 * dayMs, hourStep, 7),
    report('day'),
    report('model'),
    report('user'),
    report('key'),
    report('api'),
    report('day', 7),
    {
      name: 'usage by key 30d as CSV',
      run: () => reportCsv(usage.report({ since: now - 30 * dayMs }, 'key')).split('\r\n').length - 2,
    },
    recent('newest', {}),
    recent('user', { userId: 7 }),
    recent('rare user', { userId: 190 }),
    recent('model', { model: known.model }),
    recent('user + model', { userId: 7, model: known.model }),
    recent('status 5xx', { status: { from: 500, to: 599 } }),
    recent('status 429', { status: { exact: 429 } }),
    recent('status 404', { status: { exact: 404 } }),
    recent('errors of a rare user', { userId: 190, status: { from: 400, to: 599 } }),
    recent('model + 5xx', { model: known.model, status: { from: 500, to: 599 } }),
    recent('request id (one page)', { requestId: known.sample.request_id }),
    recent('request id in its hour', {
      requestId: known.sample.request_id,
      since: known.sample.time - (known.sample.time % hourMs),
      until: known.sample.time - (known.sample.time % hourMs) + hourMs,
    }),
  ]
}
