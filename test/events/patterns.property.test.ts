// Subscription patterns: a pattern names exactly the types it should — an exact type itself, `group.*` the types of
// that group only (never a group that merely starts with the same letters), `*` all — and whatever parsePatterns
// accepts, matches() reads the same way, spaces and order aside.
import fc from 'fast-check'
import t from 'tap'
import { eventTypes, matches, parsePatterns } from '../../src/events/events.js'
import { holds } from '../helpers/fuzz.js'

const groups = [...new Set(eventTypes.map((type) => type.split('.')[0]!))]
const pattern = fc.oneof(
  fc.constantFrom(...eventTypes),
  fc.constantFrom(...groups).map((group) => `${group}.*`),
  fc.constant('*'),
)
/** What a pattern should match, from its meaning. */
const means = (one: string, type: string) =>
  one === '*' || one === type || (one.endsWith('.*') && type.split('.')[0] === one.slice(0, -2))

t.test('a list of patterns matches exactly the types one of them names', async (t) => {
  await holds(
    t,
    'patterns match by their meaning',
    fc.property(fc.array(pattern, { minLength: 1, maxLength: 4 }), fc.constantFrom(' ', ''), (list, space) => {
      const text = list.join(`,${space}`)
      const parsed = parsePatterns(text)
      if (typeof parsed === 'string') return false
      return eventTypes.every((type) => matches(parsed.join(','), type) === list.some((one) => means(one, type)))
    }),
    1000,
  )
})

t.test('anything else is refused with the list of types', async (t) => {
  await holds(
    t,
    'unknown patterns are refused',
    fc.property(fc.string({ minLength: 1, maxLength: 20 }), (text) => {
      const parsed = parsePatterns(text)
      if (typeof parsed !== 'string') {
        return parsed.every((one) => one === '*' || eventTypes.some((type) => means(one, type)))
      }
      return /no event type or pattern|at least one/.test(parsed)
    }),
    1000,
  )
  t.match(parsePatterns('keys.*'), /"keys.\*" is no event type or pattern \(types: key.created/)
  t.match(parsePatterns(' , '), /at least one/)
  t.notOk(matches('key.*', 'keys.created'), 'a group is matched whole')
})
