// Stage 1, the address guard: the gateway's address allow-list (server.allow_ip), then the client address's limits,
// before any credential work. What it admits is kept on the request's state and settled by the finish stage.
import { GatewayError } from '../errors.js'
import type { AddressList } from './addressList.js'
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

/** Shared: a flood from elsewhere costs no Error per request. */
const notAllowed = new GatewayError(
  'address_not_allowed',
  'requests from this client address are not allowed on this gateway (server.allow_ip)',
)

/**
 * The guard every route but the probes passes (proxied, auth, admin, system, the dashboard, 404s): an address outside
 * the gateway's allow-list (when there is one) is refused before its limits are even looked at, so it counts nowhere.
 */
export function allowListGuard(allowed: () => AddressList | undefined, admitAddress: AdmitAddress): AdmitAddress {
  return (address, api) => {
    const list = allowed()
    if (list !== undefined && !list.has(address)) return notAllowed
    return admitAddress(address, api)
  }
}
