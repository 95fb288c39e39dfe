// request.failed for the 5xx answers the gateway makes itself, held to one event per kind (error code and backend) per
// interval: a backend that goes down under load fails thousands of requests a second, and one event each would flood
// the outbox and every subscriber with the same news. The failures held back are counted in the next event of their
// kind (`suppressed`), which goes out when the interval ends, so a burst's tail is never lost from view.
import type { ExchangeResult } from '../proxy/exchange.js'
import type { EventPayloads } from './events.js'

type Failure = EventPayloads['request.failed']

export interface RequestFailureOptions {
  emit: (type: 'request.failed', data: Failure) => void
  /** The interval now (webhooks.request_failed_interval, reloadable); 0: every failure is an event. */
  intervalMs: () => number
  now?: () => number
  /** Runs `run` after `ms` (injected for tests; the real one does not keep the process alive). */
  schedule?: (run: () => void, ms: number) => void
}

interface Kind {
  sentAt: number
  /** Failures held back since the last event of this kind, and the latest of them (sent when the interval ends). */
  held: number
  latest: Failure | undefined
}

const unrefTimer = (run: () => void, ms: number): void => void setTimeout(run, ms).unref()

export function requestFailures(options: RequestFailureOptions): (result: ExchangeResult) => void {
  const { emit, intervalMs, now = Date.now, schedule = unrefTimer } = options
  // Bounded: the error table's 5xx codes times the configured backends (and none).
  const kinds = new Map<string, Kind>()
  const flush = (kind: Kind): void => {
    if (kind.held === 0) return
    emit('request.failed', { ...kind.latest!, suppressed: kind.held - 1 })
    kind.sentAt = now()
    kind.held = 0
    kind.latest = undefined
  }
  return (result) => {
    if (result.status < 500 || result.errorCode === undefined) return
    const failure = payload(result)
    const interval = intervalMs()
    const at = now()
    const name = `${result.errorCode} ${result.backend ?? ''}`
    const kind = kinds.get(name)
    if (!kind || interval === 0 || at - kind.sentAt >= interval) {
      if (kind) flush(kind)
      emit('request.failed', failure)
      if (kind) kind.sentAt = at
      else kinds.set(name, { sentAt: at, held: 0, latest: undefined })
      return
    }
    if (kind.held === 0) schedule(() => flush(kind), kind.sentAt + interval - at)
    kind.held++
    kind.latest = failure
  }
}

function payload(result: ExchangeResult): Failure {
  return {
    request_id: result.requestId,
    status: result.status,
    error: result.errorCode!,
    api: result.api,
    route: result.route,
    model: result.model,
    backend: result.backend,
    user_id: result.userId,
    key_id: result.keyId,
    suppressed: 0,
  }
}
