// Stage 11, finish: every request ends here exactly once, proxied or refused at any stage. It settles the limits the
// request reserved, builds its ExchangeResult (the one place one is made) and hands it to each consumer in order: the
// usage row, the embedder's hook, metrics, the log line, events (request.failed) and plugins' onEnd.
import type { Principal } from '../auth/principal.js'
import type { GatewayError } from '../errors.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { Admission } from '../limits/limiter.js'
import type { ExchangeEnd, ExchangeOutcome, ExchangeResult, ExchangeRoute } from '../proxy/exchange.js'

/** The part of a request's state finish reads (and marks ended). */
export interface FinishedRequest {
  readonly request: RequestSnapshot
  readonly route: ExchangeRoute
  readonly startedAt: number
  readonly principal: Principal | undefined
  readonly model: string | null
  readonly bytesIn: number
  /** How long the request waited in the gateway's queue (ms; 0 when it never waited). */
  readonly queueMs: number
  readonly addressAdmission: Admission | undefined
  readonly admission: Admission | undefined
  /** The scheduler's slot it holds (inference routes): charged with the output tokens, and given back. */
  readonly grant: { chargeOutput(tokens: number): void; release(): void } | undefined
  /** The request's view of the plugin chain (src/plugins/chain.ts), when there was one: its onEnd consumer reads it. */
  readonly plugins: { end(result: ExchangeResult): void } | undefined
  /** How the response cache took part (src/cache/cacheStage.ts), for the result and its usage row. */
  readonly cache:
    | { readonly outcome: 'hit' | 'miss' | 'bypass'; readonly countsTokens: boolean; readonly reason?: string }
    | undefined
  ended: boolean
}

/** One consumer of a request's result; given the request's state too (plugins' onEnd is per request). */
export type FinishConsumer = (result: ExchangeResult, state: FinishedRequest) => void

/**
 * How a request ends: `outcome` is the exchange's when it reached a backend (undefined when refused before); `error`
 * the gateway's error, or undefined for a success — and, with no outcome, for a client that left before it was sent.
 */
export type FinishStage = (
  state: FinishedRequest,
  outcome: ExchangeOutcome | undefined,
  error: GatewayError | undefined,
) => void

/** What to do with a consumer that threw (log it): it is the consumer's failure alone. */
export type ConsumerFailed = (error: unknown, result: ExchangeResult) => void

/**
 * `consumers` in the order they run; an absent one (undefined) is left out when the stage is built. One that throws is
 * reported to `failed` and the others still run: the throw must not skip the log line, metrics or events, nor reach
 * the caller (undici's end-of-response callback, which would take a finished reply for a lost one).
 */
export function finishStage(
  consumers: readonly (ExchangeEnd | FinishConsumer | undefined)[],
  failed: ConsumerFailed,
): FinishStage {
  const present = consumers.filter((consumer): consumer is FinishConsumer => consumer !== undefined)
  return (state, outcome, error) => {
    if (state.ended) return
    state.ended = true
    settle(state, outcome)
    const result = resultOf(state, outcome, error)
    for (let i = 0; i < present.length; i++) {
      try {
        present[i]!(result, state)
      } catch (thrown) {
        failed(thrown, result)
      }
    }
  }
}

/**
 * The outcome of a request no backend saw, answered by the gateway itself once its limits admitted it: a plugin's
 * answer or refusal, or a client that left while the plugins ran. It used no token: finish releases its reservation
 * with 0 (an unknown use would keep the reservation).
 */
export function withoutBackend(status: number, bytesOut: number, clientAborted: boolean): ExchangeOutcome {
  return {
    backendName: null,
    status,
    usage: undefined,
    chunks: 0,
    clientAborted,
    bytesOut,
    dispatchedAt: 0,
    firstByteAt: 0,
    unsent: true,
  }
}

/**
 * Settles the reservations to what was used (an unknown count: what the backend had streamed, at least). A request
 * that never reached a backend — refused after its admission (no_backend, a plugin), or every backend refused the
 * connection — used none: its reservation is given back whole, or an outage would drain its caller's token limits.
 */
function settle(state: FinishedRequest, outcome: ExchangeOutcome | undefined): void {
  const usage = outcome?.usage
  const used =
    !outcome || outcome.unsent
      ? 0
      : usage && !usage.error
        ? (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0)
        : undefined
  state.admission?.release(used, outcome?.chunks)
  state.addressAdmission?.release(undefined)
  const grant = state.grant
  if (grant) {
    // Its slot frees (the next waiter goes at once); the tokens it generated count against its user's fair share.
    grant.chargeOutput(usage?.completionTokens ?? outcome?.chunks ?? 0)
    grant.release()
  }
}

/** The one place an ExchangeResult is built. */
function resultOf(
  state: FinishedRequest,
  outcome: ExchangeOutcome | undefined,
  error: GatewayError | undefined,
): ExchangeResult {
  const { request, route, principal } = state
  return {
    requestId: request.requestId,
    time: request.time,
    api: route.api,
    route: route.name,
    usesTokens: route.usesTokens,
    model: state.model,
    userId: principal?.userId ?? null,
    username: principal?.username ?? null,
    keyId: principal?.keyId ?? null,
    backend: outcome ? outcome.backendName : null,
    status: outcome ? outcome.status : (error?.status ?? 0),
    errorCode: error?.code,
    usage: outcome?.usage,
    chunks: outcome ? outcome.chunks : 0,
    clientAborted: outcome ? outcome.clientAborted : error === undefined,
    bytesIn: state.bytesIn,
    queueMs: state.queueMs,
    bytesOut: outcome ? outcome.bytesOut : 0,
    clientIp: request.clientIp,
    startedAt: state.startedAt,
    dispatchedAt: outcome ? outcome.dispatchedAt : 0,
    firstByteAt: outcome ? outcome.firstByteAt : 0,
    endedAt: performance.now(),
    limitKind: error?.detail,
    // A copy of what the ticket tells: the result goes to plugins, the ticket holds a miss's reply and its key.
    cache: state.cache && {
      outcome: state.cache.outcome,
      countsTokens: state.cache.countsTokens,
      reason: state.cache.reason,
    },
  }
}
