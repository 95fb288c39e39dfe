// The limiter against any number: whatever estimates, real counts, limits and clock steps reach it, its buckets and
// quotas stay finite, non-negative and bounded, a token quota or bucket admits nothing once the settled counts reach
// it, and every answer to a limited caller — admitted or refused — carries the same rate-limit headers, consistent
// with the buckets. Driven with a fake clock.
import fc from 'fast-check'
import t from 'tap'
import { GatewayError } from '../../src/errors.js'
import { maxCharge, maxLimiterState, tokenCount, tokenEstimate } from '../../src/limits/limitNumbers.js'
import { Limiter, type Admission } from '../../src/limits/limiter.js'
import { RuleSet, type LimitKind, type LimitRule } from '../../src/limits/rules.js'
import type { TokenBucket } from '../../src/limits/tokenBucket.js'
import { holds } from '../helpers/fuzz.js'
import { testPrincipal } from '../helpers/principal.js'

const principal = testPrincipal

/** Every kind of number a body, a backend or a broken store could hand over. */
const anyNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, -0, 0, -1, 2 ** 53),
  fc.double(),
  fc.integer({ min: 0, max: 5000 }),
  fc.integer({ min: -5000, max: 2 ** 40 }),
)
const count = fc.oneof(fc.integer({ min: 0, max: 1000 }), anyNumber)

type Step =
  | { op: 'admit'; estimate: number | undefined }
  | { op: 'release'; which: number; used: number | undefined; streamed: number | undefined }
  | { op: 'tick'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('admit' as const), estimate: fc.option(count, { nil: undefined }) }),
  fc.record({
    op: fc.constant('release' as const),
    which: fc.nat(),
    used: fc.option(count, { nil: undefined }),
    streamed: fc.option(count, { nil: undefined }),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.oneof(fc.integer({ min: -1000, max: 120_000 }), anyNumber) }),
)

const kinds: LimitKind[] = ['rpm', 'tpm', 'tpd', 'concurrency', 'daily_tokens', 'daily_requests', 'monthly_tokens']
const values = fc.record(
  Object.fromEntries(kinds.map((kind) => [kind, fc.option(fc.oneof(fc.integer({ min: 1, max: 2000 }), anyNumber))])),
  { requiredKeys: [] },
)

function rulesOf(values: Partial<Record<LimitKind, number | null>>): LimitRule[] {
  const set: Partial<Record<LimitKind, number>> = {}
  for (const [kind, value] of Object.entries(values)) if (value !== null) set[kind as LimitKind] = value
  return [{ subjectType: 'key', subject: principal.keyId!, gateway: '*', model: '', values: set }]
}

/** The limiter's state, read from its private fields: what the invariant is about. */
function stateOf(limiter: Limiter): { spent: number[]; quotas: number[]; slots: number[] } {
  const inside = limiter as unknown as {
    buckets: Map<string, TokenBucket>
    quotas: { values(): Iterable<{ used: number }> }
    inFlight: Map<string, number>
  }
  return {
    spent: [...inside.buckets.values()].map((bucket) => bucket.spentTokens),
    quotas: [...inside.quotas.values()].map((quota) => quota.used),
    slots: [...inside.inFlight.values()],
  }
}

/**
 * One limiter per property, given new rules for each case and started over (startOver): a Limiter
 * is costly to make (its address and quota caches hold a million entries). Its clock only moves forward.
 */
function sharedLimiter() {
  const clock = { now: Date.UTC(2026, 11, 1, 12) }
  const limiter = new Limiter(
    new RuleSet([]),
    () => 0,
    () => clock.now,
  )
  const open: Admission[] = []
  return {
    clock,
    limiter,
    open,
    /** A new case: rules replaced, every admission of the last case released. */
    start(rules: LimitRule[]) {
      for (const admission of open.splice(0)) admission.release(undefined)
      limiter.replaceRules(new RuleSet(rules))
      limiter.startOver()
    },
  }
}

const bounded = (value: number) => Number.isFinite(value) && value >= 0 && value <= maxLimiterState

const headerNames = (headers: string[]) => headers.filter((_, index) => index % 2 === 0)

function flatHeaders(answer: Admission | GatewayError): string[] {
  if (!(answer instanceof GatewayError)) return answer.headers
  return Object.entries(answer.headers ?? {})
    .filter(([name]) => name !== 'retry-after')
    .flat()
}

t.test('the numbers the limiter keeps are whole, bounded counts', async (t) => {
  await holds(
    t,
    'checked numbers',
    fc.property(anyNumber, (value) => {
      const estimate = tokenEstimate(value)
      const used = tokenCount(value)
      return (
        Number.isInteger(estimate) &&
        estimate >= 0 &&
        estimate <= maxCharge &&
        !Object.is(estimate, -0) &&
        (used === undefined || (Number.isInteger(used) && used >= 0 && used <= maxCharge))
      )
    }),
    5000,
  )
})

t.test('whatever numbers arrive, every bucket and quota stays finite, non-negative and bounded', async (t) => {
  const shared = sharedLimiter()
  await holds(
    t,
    'limiter state bounded',
    fc.property(values, fc.array(step, { maxLength: 60 }), (limits, steps) => {
      shared.start(rulesOf(limits))
      const { limiter, open, clock } = shared
      for (const action of steps) {
        if (action.op === 'admit') {
          const answer = limiter.admit(principal, 'ollama', null, action.estimate)
          if (!(answer instanceof GatewayError)) open.push(answer)
          else if (answer.status !== 429) return false
        } else if (action.op === 'release') {
          if (open.length > 0) open.splice(action.which % open.length, 1)[0]!.release(action.used, action.streamed)
        } else clock.now += action.ms
        const state = stateOf(limiter)
        if (!state.spent.every(bounded) || !state.quotas.every(bounded)) return false
        if (!state.slots.every((slots) => Number.isInteger(slots) && slots > 0)) return false
      }
      return true
    }),
    2000,
  )
})

t.test('a token quota or bucket admits nothing once the settled counts reach it, whatever the estimates', async (t) => {
  const shared = sharedLimiter()
  await holds(
    t,
    'no free tokens',
    fc.property(
      fc.constantFrom<LimitKind>('daily_tokens', 'monthly_tokens', 'tpd', 'tpm'),
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.tuple(fc.option(anyNumber, { nil: undefined }), fc.integer({ min: 0, max: 400 })), {
        minLength: 1,
        maxLength: 80,
      }),
      (kind, limit, requests) => {
        shared.start(rulesOf({ [kind]: limit }))
        const { limiter } = shared
        let spent = 0
        for (const [estimate, used] of requests) {
          const answer = limiter.admit(principal, 'ollama', null, estimate ?? 0)
          if (answer instanceof GatewayError) {
            if (spent < limit) return false // refused while something was left
            continue
          }
          if (spent >= limit) return false // admitted for free
          answer.release(used)
          spent += used
        }
        return true
      },
    ),
    3000,
  )
})

t.test('the review’s attack: num_predict 1e300 and 1e999 against a 340-token daily quota', async (t) => {
  const shared = sharedLimiter()
  for (const estimate of [1e300, Infinity, NaN, -1, 2 ** 80]) {
    shared.start(rulesOf({ daily_tokens: 340 }))
    const { limiter } = shared
    let admitted = 0
    for (let i = 0; i < 40; i++) {
      const answer = limiter.admit(principal, 'ollama', null, estimate + 120)
      if (answer instanceof GatewayError) continue
      admitted++
      answer.release(170)
    }
    t.equal(admitted, 2, `estimate ${estimate}: two requests of 170 tokens use the 340`)
  }
})

t.test(
  'admitted or refused, a limited caller gets the same rate-limit headers, consistent with its buckets',
  async (t) => {
    const shared = sharedLimiter()
    const limits = fc.record(
      {
        rpm: fc.integer({ min: 1, max: 50 }),
        rph: fc.integer({ min: 1, max: 500 }),
        tpm: fc.integer({ min: 1, max: 5000 }),
        concurrency: fc.integer({ min: 1, max: 5 }),
        daily_tokens: fc.integer({ min: 1, max: 20_000 }),
      },
      { requiredKeys: [] },
    )
    await holds(
      t,
      'rate-limit headers on every answer',
      fc.property(limits, fc.array(step, { minLength: 1, maxLength: 60 }), (chosen, steps) => {
        shared.start(rulesOf(chosen))
        const { limiter, open, clock } = shared
        const buckets = (['rpm', 'rph', 'tpm'] as const).filter((kind) => chosen[kind] !== undefined)
        const expected = expectedNames(buckets)
        for (const action of steps) {
          if (action.op === 'release') {
            if (open.length > 0) open.splice(action.which % open.length, 1)[0]!.release(action.used)
            continue
          }
          if (action.op === 'tick') {
            clock.now += Math.abs(action.ms) % 120_000 || 0
            continue
          }
          const answer = limiter.admit(principal, 'ollama', null, action.estimate)
          if (!(answer instanceof GatewayError)) open.push(answer)
          else if (!/^\d+$/.test(answer.headers?.['retry-after'] ?? '')) return false
          const headers = flatHeaders(answer)
          if (headerNames(headers).join() !== expected.join()) return false
          if (!consistent(headers, chosen, buckets.length)) return false
        }
        return true
      }),
      2000,
    )
  },
)

/** The header names an answer carries for these bucket kinds (in the writer's order). */
function expectedNames(buckets: readonly string[]): string[] {
  if (buckets.length === 0) return []
  const names: string[] = []
  if (buckets.some((kind) => kind.startsWith('r'))) {
    names.push('x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset')
    names.push('x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests')
  }
  if (buckets.includes('tpm')) {
    names.push('x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens')
  }
  names.push('ratelimit-policy', 'ratelimit')
  return names
}

/** Remaining a whole number from 0 to the limit, resets finite whole seconds, one RateLimit item per bucket. */
function consistent(headers: string[], limits: Partial<Record<string, number>>, bucketCount: number): boolean {
  if (bucketCount === 0) return headers.length === 0
  const value = (name: string) => headers[headers.indexOf(name) + 1]
  const whole = (text: string | undefined) => text !== undefined && /^\d+$/.test(text)
  for (const unit of ['requests', 'tokens']) {
    if (!headers.includes(`x-ratelimit-limit-${unit}`)) continue
    const limit = Number(value(`x-ratelimit-limit-${unit}`))
    const remaining = value(`x-ratelimit-remaining-${unit}`)
    if (!whole(remaining) || Number(remaining) > limit) return false
    if (!/^(\d+m)?\d+s$/.test(value(`x-ratelimit-reset-${unit}`) ?? '')) return false
  }
  if (headers.includes('x-ratelimit-reset') && !whole(value('x-ratelimit-reset'))) return false
  const items = (value('ratelimit') ?? '').split(', ')
  if (items.length !== bucketCount) return false
  for (const item of items) {
    const match = /^"(\w+)";r=(\d+);t=(\d+)$/.exec(item)
    if (!match || Number(match[2]) > limits[match[1]!]!) return false
  }
  return true
}
