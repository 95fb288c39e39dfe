// The login throttle (issue 11, #9), with a fake clock: it decays once failures stop, a success clears its own
// (address, username) pair, people behind one proxy address do not share a throttle, and a guesser who waits as told
// still gets no more than the leak rate allows.
import fc from 'fast-check'
import t from 'tap'
import { LoginLimiter, subjectScale } from '../../src/auth/loginLimiter.js'
import { holds } from '../helpers/fuzz.js'

const settings = fc.record({
  maxFailures: fc.integer({ min: 1, max: 20 }),
  maxBackoffMs: fc.integer({ min: 1000, max: 3_600_000 }),
})
const user = fc.constantFrom('ann', 'bob', 'cy', 'Ann')
const address = fc.constantFrom('10.0.0.1', '10.0.0.2', '2001:db8::1')
const failure = fc.record({ user, address, afterMs: fc.integer({ min: 0, max: 120_000 }) })

function limiterAt(options: { maxFailures: number; maxBackoffMs: number }) {
  const clock = { now: 1_000_000 }
  return { clock, limiter: new LoginLimiter({ ...options, now: () => clock.now, maxEntries: 100 }) }
}

t.test('no wait is ever longer than the longest backoff, and every wait ends once failures stop', async (t) => {
  await holds(
    t,
    'login throttle decays',
    fc.property(settings, fc.array(failure, { maxLength: 60 }), (options, failures) => {
      const { clock, limiter } = limiterAt(options)
      for (const step of failures) {
        clock.now += step.afterMs
        if (limiter.waitMs(step.user, step.address) > options.maxBackoffMs) return false
        limiter.failed(step.user, step.address)
      }
      // A quiet period as long as the longest backoff: nobody waits.
      clock.now += options.maxBackoffMs
      for (const step of failures) if (limiter.waitMs(step.user, step.address) !== 0) return false
      // Long enough for every failure to leak away: each pair starts afresh, all its allowance but one unused.
      clock.now += (failures.length * options.maxBackoffMs) / options.maxFailures
      for (const step of failures) {
        for (const kind of ['pair', 'user', 'address'] as const) {
          if (limiter.level(kind, step.user, step.address) !== 0) return false
        }
      }
      const [first] = failures
      if (first) {
        for (let i = 0; i < options.maxFailures - 1; i++) limiter.failed(first.user, first.address)
        if (limiter.waitMs(first.user, first.address) !== 0) return false
      }
      return true
    }),
    2000,
  )
})

t.test('a success clears its own pair; the username and the address keep their counts', async (t) => {
  await holds(
    t,
    'login success resets its pair',
    fc.property(settings, fc.array(failure, { maxLength: 40 }), user, address, (options, failures, who, from) => {
      const { clock, limiter } = limiterAt(options)
      for (const step of failures) {
        clock.now += step.afterMs
        limiter.failed(step.user, step.address)
      }
      const userLevel = limiter.level('user', who, from)
      limiter.succeeded(who, from)
      return limiter.level('pair', who, from) === 0 && limiter.level('user', who, from) === userLevel
    }),
    2000,
  )
})

t.test('people behind one address: failures of others never throttle a user below the address allowance', async (t) => {
  await holds(
    t,
    'login throttle per user behind a proxy',
    fc.property(
      settings,
      fc.array(fc.constantFrom('bob', 'cy', 'dee', 'eve'), { maxLength: 200 }),
      (options, others) => {
        const { limiter } = limiterAt(options)
        const allowance = options.maxFailures * subjectScale.address
        for (const other of others.slice(0, allowance - 1)) limiter.failed(other, '192.0.2.1')
        return limiter.waitMs('ann', '192.0.2.1') === 0
      },
    ),
    2000,
  )
})

t.test('a guesser who waits as told gets no more guesses than the allowance and the leak rate', async (t) => {
  await holds(
    t,
    'login throttle bounds guesses',
    fc.property(
      settings,
      fc.double({ min: 0.01, max: 200, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }),
      (options, leaks, pollMs) => {
        const { clock, limiter } = limiterAt(options)
        // A window as long as `leaks` failures take to leak away.
        const windowMs = Math.ceil((leaks * options.maxBackoffMs) / options.maxFailures)
        const end = clock.now + windowMs
        let guesses = 0
        while (clock.now < end && guesses < 100_000) {
          const wait = limiter.waitMs('ann', '198.51.100.7')
          if (wait > 0) clock.now += Math.max(wait, pollMs)
          else {
            limiter.failed('ann', '198.51.100.7')
            guesses++
            clock.now += pollMs
          }
        }
        const leakMs = options.maxBackoffMs / options.maxFailures
        // The allowance, what leaked away meanwhile, and the doubling steps up to the longest backoff.
        const bound = options.maxFailures + windowMs / leakMs + Math.log2(options.maxBackoffMs / 1000) + 2
        return guesses <= bound
      },
    ),
    500,
  )
})
