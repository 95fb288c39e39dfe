// Bounds on stored client values (issue 11, #10): the one duration parser and the text and instant checks accept
// exactly what is within bounds, refuse everything else with a 400 naming the field, and never throw anything else;
// whatever a row holds, it is shown without a crash.
import fc from 'fast-check'
import t from 'tap'
import { GatewayError } from '../../src/errors.js'
import {
  BoundsError,
  checkInstant,
  checkText,
  isoTime,
  keyDescriptionBounds,
  keyNameBounds,
  latestInstant,
  longestLifetimeMs,
  parseLifetime,
} from '../../src/store/bounds.js'
import { holds } from '../helpers/fuzz.js'

const units: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  ' d': 86_400_000,
}

/** The outcome of a call: its value, or the code of the GatewayError it threw (anything else fails the property). */
function outcome<T>(run: () => T): T | GatewayError {
  try {
    return run()
  } catch (error) {
    if (error instanceof BoundsError && error.code === 'invalid_request' && error.status === 400) return error
    throw error
  }
}

t.test(
  'durations: within (0, ten years] they parse to exactly their value; the rest is a 400 naming the field',
  async (t) => {
    await holds(
      t,
      'duration parser',
      fc.property(
        fc.oneof(
          fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
          fc.nat({ max: 4000 }).map(String),
          fc.double({ min: 0, max: 1e20, noNaN: true }).map(String),
        ),
        fc.constantFrom(...Object.keys(units), 'w', 'y', 'D', ' d', 'e3', ''),
        fc.boolean(),
        (number, unit, allowZero) => {
          const text = `${number}${unit}`
          const result = outcome(() => parseLifetime('expires_in', text, { allowZero }))
          const size = units[unit]
          const expected = size === undefined || !/^\d+(\.\d+)?$/.test(number) ? undefined : Number(number) * size
          const valid =
            expected !== undefined &&
            text.length <= 32 &&
            Number.isSafeInteger(expected) &&
            expected <= longestLifetimeMs &&
            (expected > 0 || allowZero)
          if (!valid) return result instanceof GatewayError && result.message.includes('expires_in')
          return result === expected
        },
      ),
      5000,
    )
    await holds(
      t,
      'duration parser on anything',
      fc.property(fc.anything(), (value) => {
        const result = outcome(() => parseLifetime('grace', value, { allowZero: true }))
        return result instanceof GatewayError
          ? result.message.includes('"grace"') && result.message.length < 300
          : Number.isSafeInteger(result) && result >= 0 && result <= longestLifetimeMs
      }),
      3000,
    )
    t.equal(parseLifetime('expires_in', '3650d'), longestLifetimeMs)
    t.throws(() => parseLifetime('expires_in', '99999999d'), {
      code: 'invalid_request',
      message: /"expires_in".*ten years/,
    })
    t.throws(() => parseLifetime('expires_in', '0'), { message: /longer than 0/ })
  },
)

t.test('text: accepted exactly when short enough and free of control characters, and then unchanged', async (t) => {
  // eslint-disable-next-line no-control-regex -- the oracle names the control characters it refuses
  const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
  const wellFormed = (text: string) =>
    !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)
  await holds(
    t,
    'text bounds',
    fc.property(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 150 }),
        fc.string({ maxLength: 1200 }),
        fc.string({ unit: fc.constantFrom('a', '\n', '\u202e', '\ud800', '\u0085', 'é') }),
      ),
      fc.constantFrom(keyNameBounds, keyDescriptionBounds),
      (text, bounds) => {
        const result = outcome(() => checkText('name', text, bounds))
        const valid =
          text.length <= bounds.max &&
          !controls.test(text) &&
          wellFormed(text) &&
          ('multiline' in bounds || !/[\t\n\r]/.test(text))
        return valid ? result === text : result instanceof GatewayError && result.message.startsWith('"name"')
      },
    ),
    5000,
  )
})

t.test('instants: a stored expiry is a whole ms no later than ten years on; anything stored is shown', async (t) => {
  const now = 1_800_000_000_000
  await holds(
    t,
    'instant bounds',
    fc.property(
      fc.oneof(fc.double(), fc.integer(), fc.constantFrom(8.64e15, 8.64e15 + 1, 2 ** 53, -(2 ** 63))),
      (value) => {
        const result = outcome(() => checkInstant('expires_at', value, now))
        const valid =
          Number.isSafeInteger(value) && Math.abs(value) <= latestInstant && value <= now + longestLifetimeMs
        return valid ? result === value : result instanceof GatewayError
      },
    ),
    5000,
  )
  await holds(
    t,
    'stored times always show',
    fc.property(fc.oneof(fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(Number)), (value) => {
      const shown = isoTime(value)
      return typeof shown === 'string' && !Number.isNaN(Date.parse(shown))
    }),
    5000,
  )
  t.equal(isoTime(null), null)
  t.equal(isoTime(1e20), '+275760-09-13T00:00:00.000Z', 'past the range: the last instant a date can hold')
})
