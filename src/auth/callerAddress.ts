// The credential's address allow-lists (a key's `allow_ip`, its user's): checked right after authenticate, before
// anything is read or counted, so that a request from elsewhere never touches a limit or a backend. Lists are parsed
// once, when the principal is made (and cached with it).
import { GatewayError } from '../errors.js'
import { AddressList } from '../limits/addressList.js'
import type { Principal } from './principal.js'

/** One check for both lists (undefined when neither has one: nothing to do costs nothing). */
export function addressPolicy(
  keyRanges: readonly string[] | null,
  userRanges: readonly string[] | null,
): ((address: string) => boolean) | undefined {
  const key = keyRanges === null ? undefined : AddressList.of(keyRanges)
  const user = userRanges === null ? undefined : AddressList.of(userRanges)
  if (key && user) return (address) => key.has(address) && user.has(address)
  if (key) return (address) => key.has(address)
  if (user) return (address) => user.has(address)
  return undefined
}

/** The 403 for a credential used from an address its lists do not allow; undefined when it may be used here. */
export function callerAddressRefusal(principal: Principal, address: string): GatewayError | undefined {
  if (principal.allowsAddress === undefined || principal.allowsAddress(address)) return undefined
  return new GatewayError(
    'address_not_allowed',
    `this credential may not be used from ${address.slice(0, 64)} (its allow_ip, or its user's)`,
  )
}
