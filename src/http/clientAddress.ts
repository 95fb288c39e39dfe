// The client's address: the TCP peer, unless the peer is one of `server.trusted_proxies`, in which case the proxy chain
// it sent (X-Forwarded-For, or RFC 7239 Forwarded: `server.forwarded_header`) is walked from the right, past every
// trusted hop, to the first address no trusted party vouches for. Everything left of that address was written by the
// client itself and is never read. A chain that cannot be read (a malformed entry, `unknown`, an obfuscated name)
// falls back to the peer: the gateway never guesses. Computed once, in the request snapshot.
import { isIP } from 'node:net'

/** Which header the trusted proxies write: only that one is read (a proxy passes the other on from the client). */
export type ForwardingHeader = 'x-forwarded-for' | 'forwarded'

export interface TrustedProxies {
  /** Whether an address is a trusted proxy. */
  has(address: string): boolean
  header: ForwardingHeader
}

/** The header lines a request carried, joined with commas in the order received ('' for none). */
export interface ForwardingLines {
  forwarded: string
  forwardedFor: string
}

/** The client address for a request from `peer` (see the file comment). */
export function clientAddress(peer: string, lines: ForwardingLines, trusted: TrustedProxies | undefined): string {
  if (trusted === undefined || !trusted.has(peer)) return peer
  const chain = trusted.header === 'forwarded' ? lines.forwarded : lines.forwardedFor
  if (chain === '') return peer
  const hops = chain.split(',')
  let last = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = trusted.header === 'forwarded' ? forwardedFor(hops[i]!) : hostOnly(hops[i]!.trim())
    if (hop === undefined) return peer
    if (!trusted.has(hop)) return hop
    last = hop
  }
  // Every hop is a trusted proxy: the leftmost is the one the chain starts from.
  return last
}

/** The address of an X-Forwarded-For entry or a Forwarded `for=` value: `a.b.c.d`, `a.b.c.d:port`, `[v6]`, `[v6]:port`, `v6`. */
function hostOnly(entry: string): string | undefined {
  let host = entry
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    if (end < 0) return undefined
    const rest = host.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined
    host = host.slice(1, end)
    return isIP(host) === 6 ? host : undefined
  }
  const colon = host.indexOf(':')
  // One colon: IPv4 with a port. More: a bare IPv6 address.
  if (colon >= 0 && host.indexOf(':', colon + 1) < 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined
    host = host.slice(0, colon)
    return isIP(host) === 4 ? host : undefined
  }
  return isIP(host) === 0 ? undefined : host
}

/** The `for=` address of one Forwarded element (`for=192.0.2.60;proto=http;by=...`), unquoted. */
function forwardedFor(element: string): string | undefined {
  let found: string | undefined
  for (const pair of element.split(';')) {
    const equals = pair.indexOf('=')
    if (equals < 0) continue
    if (pair.slice(0, equals).trim().toLowerCase() !== 'for') continue
    // Two for= in one element: ambiguous, not read.
    if (found !== undefined) return undefined
    let value = pair.slice(equals + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    found = value
  }
  return found === undefined ? undefined : hostOnly(found)
}
