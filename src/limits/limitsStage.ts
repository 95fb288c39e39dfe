// Stage 5, limits: the caller's buckets, quotas and slots. A request reserves its share now (its headers go on the
// reply) and the finish stage settles it to what was really used.
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { Admission, RouteLimits } from './limiter.js'

export type AdmitRequest = RouteLimits['admit']

/** The part of a request's state the limits stage reads and fills in. */
export interface LimitedRequest {
  readonly principal: Principal | undefined
  admission: Admission | undefined
  /** Set once the request's own admission was asked for (granted, or refused with its 429). */
  limitsAsked: boolean
}

/** Takes the request's share of its caller's limits; the 429 when a limit refuses it. Public routes pass. */
export function admitRequest(
  admit: AdmitRequest,
  state: LimitedRequest,
  api: string,
  model: string | null,
  tokenEstimate: number | undefined,
): GatewayError | undefined {
  if (!state.principal) return undefined
  state.limitsAsked = true
  const admitted = admit(state.principal, api, model, tokenEstimate)
  if (admitted instanceof GatewayError) return admitted
  state.admission = admitted
  return undefined
}

/**
 * A known caller refused before its admission (a bad body, a model outside its key) still spends a request of its
 * limits and gets their headers, so that refusals are no way around the limits: past them, the answer is their 429.
 * Returns the error to answer (the limit's, when one refuses).
 */
export function chargeRefusal(
  admit: AdmitRequest,
  state: LimitedRequest,
  api: string,
  error: GatewayError,
): GatewayError {
  if (!state.principal || state.limitsAsked) return error
  state.limitsAsked = true
  const charged = admit(state.principal, api, null, undefined, false)
  if (charged instanceof GatewayError) return charged
  state.admission = charged
  return error
}
