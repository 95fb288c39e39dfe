// The scheduler section: its defaults (fair, 512 waiting like Ollama, 5 minutes), every key reloads live, a weight per
// role and only for the roles there are; any weight that is not a finite number in bounds stops start-up naming the key.
import fc from 'fast-check'
import t from 'tap'
import { roles } from '../../src/auth/permissions.js'
import { maxWeight, minWeight } from '../../src/auth/weights.js'
import { configFrom } from '../../src/config/load.js'
import { restartKeyPaths } from '../../src/config/restartKeys.js'
import { ConfigError } from '../../src/config/validate.js'
import { holds } from '../helpers/fuzz.js'

/** The problems a config raises, as `path: expected` lines (none when it is accepted). */
function problems(raw: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    configFrom(raw, env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.path}: ${problem.expected}`)
    throw error
  }
  return []
}

t.test('defaults: fair, 512 waiting requests, 5 minutes, weight 1 for every role', async (t) => {
  const { scheduler } = configFrom({})
  t.same(scheduler, { policy: 'fair', max_queue: 512, max_wait: 300_000, weights: { admin: 1, user: 1, readonly: 1 } })
  t.same(Object.keys(scheduler.weights), [...roles], 'one weight per role the permissions know')
})

t.test('every scheduler key reloads live', async (t) => {
  t.same(
    restartKeyPaths().filter((path) => path.startsWith('scheduler.')),
    [],
  )
})

t.test('file values and env overrides', async (t) => {
  const config = configFrom(
    { scheduler: { policy: 'fifo', max_queue: 10, max_wait: '30s', weights: { user: 2 } } },
    { PARALLAMA_SCHEDULER__WEIGHTS__ADMIN: '0.5', PARALLAMA_SCHEDULER__MAX_QUEUE: '64' },
  )
  t.same(config.scheduler, {
    policy: 'fifo',
    max_queue: 64,
    max_wait: 30_000,
    weights: { admin: 0.5, user: 2, readonly: 1 },
  })
})

t.test('bad values name the key and what was expected', async (t) => {
  t.same(
    problems({
      scheduler: { policy: 'random', max_queue: 0, max_wait: '-1s', weights: { user: 0, owner: 2 } },
    }),
    [
      'scheduler.policy: one of fair, fifo',
      'scheduler.max_queue: an integer from 1 to 1000000',
      'scheduler.max_wait: a duration such as 500ms, 30s, 5m, 1h or 7d (at least 1ms)',
      'scheduler.weights.owner: no such key (known here: admin, user, readonly)',
      `scheduler.weights.user: a number from ${minWeight} to ${maxWeight}`,
    ],
  )
  t.same(problems({ scheduler: { weights: [1, 2] } }), ['scheduler.weights: a mapping of keys to values'])
  t.same(problems({}, { PARALLAMA_SCHEDULER__WEIGHTS__USER: 'Infinity' }), [
    `scheduler.weights.user: a number from ${minWeight} to ${maxWeight}`,
  ])
})

t.test('a role weight is accepted exactly when it is a finite number within bounds, and kept as given', async (t) => {
  const anyValue = fc.oneof(
    fc.double(),
    fc.double({ min: minWeight, max: maxWeight, noNaN: true }),
    fc.constantFrom(0, -0, -1, minWeight, maxWeight, maxWeight + 1e-9, Infinity, -Infinity, NaN),
    fc.string(),
    fc.constant(null),
    fc.boolean(),
  )
  await holds(
    t,
    'role weight bounds',
    fc.property(fc.constantFrom(...roles), anyValue, (role, value) => {
      const valid = typeof value === 'number' && Number.isFinite(value) && value >= minWeight && value <= maxWeight
      const found = problems({ scheduler: { weights: { [role]: value } } })
      if (!valid) return found.length === 1 && found[0] === `scheduler.weights.${role}: a number from 0.001 to 1000`
      return (
        found.length === 0 &&
        configFrom({ scheduler: { weights: { [role]: value } } }).scheduler.weights[role] === value
      )
    }),
    2000,
  )
})
