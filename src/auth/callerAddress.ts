// The credential's address allow-lists (a key's `allow_ip`, its user's): checked right after authenticate, before
// anything is read or counted, so that a request from elsewhere never touches a limit or a backend. Lists are parsed
// once, when the principal is made (and cached with it).
import { GatewayError } from '../errors.js'
import { AddressList } from '../limits/addressList.js'
import type { Principal } from './principal.js'

/**
 * One check for every list (undefined when none has one: nothing to do costs nothing). `makerRanges`: the lists of the
 * keys that made this one, which fence it in too (a maker narrowed after it made keys narrows them).
 */
export function addressPolicy(
  keyRanges: readonly string[] | null,
  userRanges: readonly string[] | null,
  makerRanges: readonly (readonly string[] | null)[] = [],
): ((address: string) => boolean) | undefined {
  const lists = [keyRanges, userRanges, ...makerRanges]
    .filter((ranges): ranges is readonly string[] => ranges !== null)
    .map((ranges) => AddressList.of(ranges))
  const [first, second] = lists
  if (first === undefined) return undefined
  if (second === undefined) return (address) => first.has(address)
  if (lists.length === 2) return (address) => first.has(address) && second.has(address)
  return (address) => lists.every((list) => list.has(address))
}

/** The 403 for a credential used from an address its lists do not allow; undefined when it may be used here. */
export function callerAddressRefusal(principal: Principal, address: string): GatewayError | undefined {
  if (principal.allowsAddress === undefined || principal.allowsAddress(address)) return undefined
  return new GatewayError(
    'address_not_allowed',
    `this credential may not be used from ${address.slice(0, 64)} (its allow_ip, or its user's)`,
  )
}
