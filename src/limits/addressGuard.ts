// Stage 1, the address guard: the client address's allow-list and limits, before any credential work. What it admits
// is kept on the request's state and settled by the finish stage.
import { GatewayError } from '../errors.js'
import type { Admission, RouteLimits } from './limiter.js'

export type AdmitAddress = RouteLimits['admitAddress']

/** The part of a request's state the guard reads and fills in. */
export interface GuardedRequest {
  readonly request: { readonly clientIp: string }
  addressAdmission: Admission | undefined
}

/** Refuses an address past its limits (the error to answer); else keeps what it admitted on `state`. */
export function guardAddress(admitAddress: AdmitAddress, state: GuardedRequest, api: string): GatewayError | undefined {
  const admitted = admitAddress(state.request.clientIp, api)
  if (admitted instanceof GatewayError) return admitted
  state.addressAdmission = admitted
  return undefined
}
