// Attack (review 2): the per-address login throttle counted each IPv6 address apart; one host has a whole /64, so a
// guesser rotating through its own addresses was never slowed by the address (or pair) throttle. Addresses are grouped:
// IPv4 as they are (also IPv4-mapped), IPv6 by /64, whatever the spelling.
import fc from 'fast-check'
import t from 'tap'
import { addressGroup, LoginLimiter } from '../../src/auth/loginLimiter.js'
import { holds } from '../helpers/fuzz.js'

const group16 = fc.integer({ min: 0, max: 0xffff })
const groups = (n: number) => fc.array(group16, { minLength: n, maxLength: n })

/** One of the spellings of an IPv6 address given by its 8 groups. */
function spell(parts: number[], style: { upper: boolean; pad: boolean; compress: boolean }): string {
  let words = parts.map((part) => (style.pad ? part.toString(16).padStart(4, '0') : part.toString(16)))
  let text = words.join(':')
  if (style.compress) {
    // The longest run of zero groups (of at least 2) becomes ::.
    let best = [-1, 0]
    for (let i = 0; i < 8; i++) {
      let j = i
      while (j < 8 && parts[j] === 0) j++
      if (j - i > best[1]! && j - i >= 2) best = [i, j - i]
    }
    if (best[0]! >= 0) {
      words = parts.map((part) => part.toString(16))
      text = `${words.slice(0, best[0]).join(':')}::${words.slice(best[0]! + best[1]!).join(':')}`
    }
  }
  return style.upper ? text.toUpperCase() : text
}
const style = fc.record({ upper: fc.boolean(), pad: fc.boolean(), compress: fc.boolean() })

t.test('every spelling of every address of one /64 is one group; another /64 is another', async (t) => {
  await holds(
    t,
    'IPv6 /64 grouping',
    fc.property(groups(4), groups(4), groups(4), style, style, (prefix, low1, low2, s1, s2) => {
      const a = addressGroup(spell([...prefix, ...low1], s1))
      const b = addressGroup(spell([...prefix, ...low2], s2))
      const other = [...prefix]
      other[3] = (other[3]! + 1) & 0xffff
      const c = addressGroup(spell([...other, ...low1], s1))
      return a === b && a !== c
    }),
    2000,
  )
})

t.test('IPv4 stays itself, also written IPv4-mapped', (t) => {
  t.equal(addressGroup('192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('0:0:0:0:0:ffff:192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::1'), addressGroup('0000:0000:0000:0000:0000:0000:0000:0001'))
  t.equal(addressGroup('fe80::1%eth0'), addressGroup('fe80::2'))
  t.end()
})

t.test('a guesser rotating through its /64 is throttled by address', (t) => {
  const clock = { now: 1_000_000 }
  const limiter = new LoginLimiter({ maxFailures: 5, maxBackoffMs: 60_000, now: () => clock.now })
  let refused = 0
  for (let i = 1; i <= 200; i++) {
    const address = `2001:db8:1:2:${i.toString(16)}::${(i * 7).toString(16)}`
    const username = `user${i}`
    if (limiter.waitMs(username, address) > 0) {
      refused++
      continue
    }
    limiter.failed(username, address)
  }
  t.ok(refused > 100, `refused ${refused} of 200 attempts from one /64`)
  t.equal(limiter.waitMs('someone', '2001:db8:1:3::1'), 0, 'the next /64 is not throttled')
  t.end()
})
