// The numbers the limiter accepts, checked in one place. Whatever a client (a token estimate made from its body), a
// backend (the real token count of a reply), the database (a limit, the usage a quota rebuilds from) or the clock
// hands the limiter, what it keeps is a finite, whole, non-negative number far below 2^53, so that every sum it makes
// is exact: no NaN that compares false forever, no Infinity, no 1e300 that swallows a real count when added and taken
// away again.

/** The most tokens one request can be charged (or reserve): 2^32, far beyond any model's context and reply. */
export const maxCharge = 2 ** 32

/** The largest limit value (capacity of a bucket, size of a quota, slots): 2^45; larger means "no practical limit". */
export const maxLimitValue = 2 ** 45

/** Bound of every amount the limiter holds (spent tokens, a quota's use): 2^50, so sums of them stay exact. */
export const maxLimiterState = 2 ** 50

/**
 * A token estimate as the limiter takes it: a whole number from 0 to maxCharge. Anything that is not a number of
 * tokens (NaN, a negative number — Ollama reads num_predict −1 as "no limit") is the worst case, maxCharge; fractions
 * round up; −0 is 0.
 */
export function tokenEstimate(value: number): number {
  if (!(value >= 0)) return maxCharge
  if (value >= maxCharge) return maxCharge
  return Math.ceil(value) + 0
}

/**
 * A real token count from a backend: a whole number from 0 to maxCharge, or undefined when it is not a count (NaN,
 * negative, not a number) — then the reservation stands, as for a reply cut short.
 */
export function tokenCount(value: number | undefined): number | undefined {
  if (typeof value !== 'number' || !(value >= 0)) return undefined
  if (value >= maxCharge) return maxCharge
  return Math.ceil(value) + 0
}

/** A limit's value: a whole number from 1 to maxLimitValue; anything else is the strictest limit, 1. */
export function limitValue(value: number): number {
  if (!(value >= 1)) return 1
  if (value >= maxLimitValue) return maxLimitValue
  return Math.floor(value)
}

/** Usage read from the rollups (a quota's start): a whole number from 0 to maxLimiterState; not a number is 0. */
export function usedAmount(value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) return 0
  return value >= maxLimiterState ? maxLimiterState : Math.ceil(value)
}

/** Thrown when the limiter would hold something other than a finite amount in [0, maxLimiterState]: a bug, refused. */
export class LimiterStateError extends Error {}

/** The invariant, checked on every write of the limiter's state (two comparisons; false for NaN). */
export function assertState(value: number): number {
  if (value >= 0 && value <= maxLimiterState) return value
  throw new LimiterStateError(`limiter state out of bounds: ${value}`)
}
