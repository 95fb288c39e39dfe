// The client address behind trusted proxies (src/http/clientAddress.ts). The invariant: the address chosen is the peer,
// or an address a trusted party wrote — never one an untrusted party chose (every entry left of the first untrusted hop,
// and everything an untrusted peer sends). Malformed chains never throw and fall back to the peer.
import fc from 'fast-check'
import t from 'tap'
import { clientAddress, type TrustedProxies } from '../../src/http/clientAddress.js'
import { AddressList } from '../../src/limits/addressList.js'

const trustedList = AddressList.of(['10.0.0.0/8', 'fd00::/8'])
const xff: TrustedProxies = { has: (address) => trustedList.has(address), header: 'x-forwarded-for' }
const forwarded: TrustedProxies = { ...xff, header: 'forwarded' }

const trustedAddress = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`),
  fc.constantFrom('fd00::1', 'fd12:3456::9'),
)
const untrustedAddress = fc.oneof(
  fc.ipV4().filter((address) => !trustedList.has(address)),
  fc.ipV6().filter((address) => !trustedList.has(address)),
)
const anyAddress = fc.oneof(trustedAddress, untrustedAddress)

/** A chain: what the client wrote (anything), then the hops proxies appended, the last of them the peer's view. */
const chain = fc.record({
  clientWrote: fc.array(fc.oneof(anyAddress, fc.string()), { maxLength: 4 }),
  client: untrustedAddress,
  trustedHops: fc.array(trustedAddress, { maxLength: 3 }),
  peer: trustedAddress,
})

t.test('behind trusted proxies: the first untrusted hop from the right, never what the client wrote', async () => {
  fc.assert(
    fc.property(chain, ({ clientWrote, client, trustedHops, peer }) => {
      const entries = [...clientWrote.map((text) => text.replace(/,/g, ' ')), client, ...trustedHops]
      const chosen = clientAddress(peer, { forwarded: '', forwardedFor: entries.join(', ') }, xff)
      return chosen === client
    }),
    { numRuns: 2000 },
  )
})

t.test('Forwarded (RFC 7239) is read the same way, quoted and bracketed forms too', async () => {
  fc.assert(
    fc.property(chain, ({ client, trustedHops, peer }) => {
      const element = (address: string) => (address.includes(':') ? `for="[${address}]:4711"` : `for=${address}`)
      const header = [client, ...trustedHops].map((hop) => `${element(hop)};proto=https`).join(', ')
      return clientAddress(peer, { forwarded: header, forwardedFor: '10.9.9.9' }, forwarded) === client
    }),
    { numRuns: 1000 },
  )
})

t.test('from an untrusted peer, or with no trusted proxies, the headers are ignored', async () => {
  fc.assert(
    fc.property(untrustedAddress, fc.string(), fc.string(), (peer, forwardedFor, forwardedHeader) => {
      const lines = { forwarded: forwardedHeader, forwardedFor }
      return (
        clientAddress(peer, lines, xff) === peer &&
        clientAddress(peer, lines, forwarded) === peer &&
        clientAddress(peer, lines, undefined) === peer
      )
    }),
    { numRuns: 2000 },
  )
})

t.test('malformed chains never throw: the answer is the peer or an address a trusted hop wrote', async (t) => {
  fc.assert(
    fc.property(trustedAddress, fc.string(), fc.string(), (peer, forwardedFor, forwardedHeader) => {
      const lines = { forwarded: forwardedHeader, forwardedFor }
      for (const trusted of [xff, forwarded]) {
        const chosen = clientAddress(peer, lines, trusted)
        const source = trusted === xff ? forwardedFor : forwardedHeader
        if (chosen !== peer && !source.includes(chosen)) return false
      }
      return true
    }),
    { numRuns: 3000 },
  )
  t.equal(clientAddress('10.0.0.1', { forwarded: '', forwardedFor: '1.2.3.4, garbage' }, xff), '10.0.0.1')
  t.equal(clientAddress('10.0.0.1', { forwarded: 'for=unknown', forwardedFor: '' }, forwarded), '10.0.0.1')
  t.equal(clientAddress('10.0.0.1', { forwarded: 'for=_hidden;for=1.2.3.4', forwardedFor: '' }, forwarded), '10.0.0.1')
  t.equal(clientAddress('10.0.0.1', { forwarded: '', forwardedFor: '[2001:db8::1]:443' }, xff), '2001:db8::1')
  t.equal(clientAddress('10.0.0.1', { forwarded: '', forwardedFor: '192.0.2.1:8080' }, xff), '192.0.2.1')
  t.equal(
    clientAddress('10.0.0.1', { forwarded: '', forwardedFor: '10.1.1.1, 10.2.2.2' }, xff),
    '10.1.1.1',
    'all trusted: the leftmost',
  )
})
