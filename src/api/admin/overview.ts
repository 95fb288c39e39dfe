// /admin/v1/overview: the dashboard's first page in one answer — requests, errors, tokens and latency over time from
// the usage series (migration 010: a few hundred rows whatever the traffic), and what runs and waits now with the
// backends' health. Everyone sees their own traffic; with view_usage, everyone's (or one user's with ?user=).
import { GatewayError } from '../../errors.js'
import type { ModelQueueSnapshot } from '../../scheduler/schedulerTypes.js'
import type { Store } from '../../store/store.js'
import type { UsageStore } from '../../store/usage.js'
import { everyone, hourStep, minuteRetentionMs, minuteStep, type SeriesPoint } from '../../store/usageSeries.js'
import type { JsonHandler } from '../jsonRoute.js'
import { userOf, windowOf } from './usageQuery.js'

import type { BackendState } from '../../proxy/backendStatus.js'

export interface OverviewContext {
  store: Store
  usage: UsageStore
  flushUsage: () => Promise<void>
  /** The scheduler's queues per model, all users' or one user's. */
  queue: (onlyUser?: string) => ModelQueueSnapshot[]
  /** Each backend's name and state, in the configured order (after a first health check, as GET /backends). */
  backends: () => Promise<{ name: string; state: BackendState }[]>
}

const steps = { hour: hourStep, minute: minuteStep } as const
/** The longest window: as far as a report reaches (minutes are kept a day: usageSeries.ts, checked apart). */
const maxWindowDays = 366

export function overviewHandlers(context: OverviewContext): Record<string, JsonHandler> {
  return {
    overview: async ({ request, principal }) => {
      const query = new URLSearchParams(request.query)
      const stepName = query.get('step') ?? 'hour'
      if (stepName !== 'hour' && stepName !== 'minute') {
        return new GatewayError('invalid_request', '"step" must be hour or minute')
      }
      const now = Date.now()
      const window = windowOf(query, '24h', maxWindowDays, now)
      if (window instanceof GatewayError) return window
      const until = window.until ?? now + 1
      if (stepName === 'minute' && window.since < now - minuteRetentionMs) {
        return new GatewayError(
          'invalid_request',
          'minutes are kept for a day: "since" may reach back 24h with step=minute',
        )
      }
      const userId = userOf(query, principal!, context.store)
      if (userId instanceof GatewayError) return userId
      await context.flushUsage()
      const step = steps[stepName]
      const points = context.usage.series.points(step, userId ?? everyone, window.since, until)
      const mine = principal!.permissions.has('view_usage') ? undefined : principal!.username
      const queues = context.queue(mine)
      return {
        status: 200,
        body: {
          step: stepName,
          series: filled(points, step, window.since, until),
          now: {
            in_flight: queues.reduce((sum, model) => sum + model.running, 0),
            queued: queues.reduce((sum, model) => sum + model.waiting, 0),
            backends: await context.backends(),
          },
        },
      }
    },
  }
}

/** Every step of the window, oldest first, the ones without traffic as zeros: a chart draws gaps as zero, not a line. */
function filled(points: SeriesPoint[], step: number, since: number, until: number) {
  const series = []
  let next = 0
  for (let time = since - (since % step); time < until; time += step) {
    const point = points[next]?.time === time ? points[next++]! : undefined
    series.push({
      time: new Date(time).toISOString(),
      requests: point?.requests ?? 0,
      errors: point?.errors ?? 0,
      prompt_tokens: point?.prompt_tokens ?? 0,
      completion_tokens: point?.completion_tokens ?? 0,
      latency_p50_ms: point?.latency_p50_ms ?? null,
      latency_p95_ms: point?.latency_p95_ms ?? null,
    })
  }
  return series
}
