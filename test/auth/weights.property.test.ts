// User weights (issue 13): the store and the CLI accept exactly the finite numbers within bounds (src/auth/weights.ts),
// which round-trip unchanged; anything else is refused with a message naming the weight and what was expected, and
// changes nothing.
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseWeight } from '../../cli/user.js'
import { CliError } from '../../cli/output.js'
import { maxWeight, minWeight } from '../../src/auth/weights.js'
import { BoundsError } from '../../src/store/bounds.js'
import { openStore } from '../../src/store/store.js'
import { holds } from '../helpers/fuzz.js'

const isValid = (value: number) => Number.isFinite(value) && value >= minWeight && value <= maxWeight
const anyNumber = fc.oneof(
  fc.double(),
  fc.double({ min: minWeight, max: maxWeight, noNaN: true }),
  fc.double({ min: -1, max: 2 * minWeight, noNaN: true }),
  fc.constantFrom(0, -0, minWeight, maxWeight, maxWeight + 1e-9, minWeight - 1e-12, Infinity, -Infinity, NaN),
)

t.test('the store keeps exactly the weights in bounds, unchanged; refuses the rest with a clear error', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-weights-')), 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  store.users.add({ username: 'kim', role: 'user' })
  await holds(
    t,
    'user weight bounds',
    fc.property(anyNumber, (weight) => {
      const before = store.users.get('kim').weight
      try {
        const after = store.users.setWeight('kim', weight).weight
        return isValid(weight) && after === weight && store.users.get('kim').weight === weight
      } catch (error) {
        return (
          !isValid(weight) &&
          error instanceof BoundsError &&
          error.status === 400 &&
          error.message === `"weight" must be a number from 0.001 to 1000, got ${String(weight)}` &&
          store.users.get('kim').weight === before
        )
      }
    }),
    2000,
  )
})

t.test('the CLI reads a weight as a plain decimal number, in bounds, the same as the store', async (t) => {
  await holds(
    t,
    'cli weight parsing',
    fc.property(anyNumber, (weight) => {
      const text = String(weight)
      try {
        const parsed = parseWeight(text)
        return isValid(weight) && parsed === weight
      } catch (error) {
        return !isValid(weight) && error instanceof CliError && error.exitCode === 2
      }
    }),
    2000,
  )
  await holds(
    t,
    'cli weight text',
    fc.property(fc.string(), (text) => {
      try {
        const weight = parseWeight(text)
        return isValid(weight) && /^\s*[\d.]+(e[+-]?\d+)?\s*$/i.test(text)
      } catch (error) {
        return (
          error instanceof CliError &&
          error.message === `weight: expected a number from 0.001 to 1000, got ${JSON.stringify(text)}`
        )
      }
    }),
    2000,
  )
})
