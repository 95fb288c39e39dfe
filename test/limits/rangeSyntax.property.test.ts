// A range is an address, or an address, one slash and a decimal prefix: anything after a second slash is not ignored
// but refused (found by the attack review: `10.0.0.0/8/anything` was stored as if it were 10.0.0.0/8, so a
// mistyped list looked valid in the config, the CLI and the API).
import fc from 'fast-check'
import t from 'tap'
import { rangeProblem } from '../../src/limits/addressList.js'
import { parseRange } from '../../src/limits/rules.js'

t.test('a range with more than one slash is refused', async (t) => {
  t.equal(parseRange('10.0.0.0/8/16'), undefined)
  t.equal(parseRange('::1/128/'), undefined)
  t.match(rangeProblem(['10.0.0.0/8/junk']), /not an address range/)
  t.ok(parseRange('10.0.0.0/8'))
})

t.test('whatever follows a valid range after another slash, it is refused', async () => {
  const valid = fc.constantFrom('10.0.0.0/8', '192.0.2.1/32', '::1/128', '2001:db8::/32', '::ffff:10.0.0.0/104')
  fc.assert(
    fc.property(valid, fc.string({ maxLength: 8 }), (range, tail) => parseRange(`${range}/${tail}`) === undefined),
  )
})
