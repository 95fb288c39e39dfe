// Address allow-lists (src/limits/addressList.ts): IPv4, IPv6 and IPv4-mapped IPv6 addresses against the ranges, and
// what a list refuses to hold.
import fc from 'fast-check'
import t from 'tap'
import { AddressList, liveAddressList, rangeProblem, splitRanges } from '../../src/limits/addressList.js'

t.test('IPv4, IPv6 and IPv4-mapped IPv6', async (t) => {
  const list = AddressList.of(splitRanges(' 10.0.0.0/8, 2001:db8::/32 ,192.0.2.7'))
  t.ok(list.has('10.1.2.3'))
  t.ok(list.has('::ffff:10.1.2.3'), 'an IPv4-mapped address matches its IPv4 range')
  t.ok(list.has('2001:db8::1'))
  t.ok(list.has('192.0.2.7'), 'a bare address is a /32')
  t.notOk(list.has('192.0.2.8'))
  t.notOk(list.has('11.0.0.1'))
  t.notOk(list.has('2001:db9::1'))
  t.notOk(list.has('not an address'))
  t.notOk(list.has(''))
  const mapped = AddressList.of(['::ffff:10.0.0.0/104'])
  t.ok(mapped.has('10.0.0.1'), 'an IPv4 address matches an IPv4-mapped range')
})

t.test('a range that is not one is named; too many are refused', async (t) => {
  t.equal(rangeProblem(['10.0.0.0/8', '::1']), undefined)
  t.match(rangeProblem(['10.0.0.0/33']), /"10\.0\.0\.0\/33" is not an address range/)
  t.match(rangeProblem(['example.com']), /not an address range/)
  t.match(rangeProblem(Array.from({ length: 101 }, () => '10.0.0.0/8')), /101 address ranges, at most 100/)
})

t.test('every IPv4 address in a /24 matches it, and its mapped form too', async () => {
  const list = AddressList.of(['198.51.100.0/24'])
  fc.assert(
    fc.property(fc.nat(255), fc.ipV4(), (last, other) => {
      const inside = `198.51.100.${last}`
      return list.has(inside) && list.has(`::ffff:${inside}`) && list.has(other) === other.startsWith('198.51.100.')
    }),
  )
})

t.test('a live list is parsed again only when its text changes', async (t) => {
  let text = '10.0.0.0/8'
  const live = liveAddressList(() => text)
  const first = live()
  t.equal(live(), first, 'the same text: the same parsed list')
  text = ''
  t.equal(live(), undefined, 'empty: no list (every address)')
  text = '::1'
  t.ok(live()!.has('::1'))
})
