// Scheduling weights: a user's or a role's share of the backends' slots while requests wait (under contention a user
// of weight 2 gets twice the service of a user of weight 1). The scheduler divides the tokens it charges by a weight,
// so every weight is bounded below as well as above: a counter must stay finite, whatever an admin types.
export const minWeight = 0.001
export const maxWeight = 1000
/** What a weight is, as errors and docs say it. */
export const weightExpected = `a number from ${minWeight} to ${maxWeight}`

/** Whether `value` is a weight: a finite number from minWeight to maxWeight (NaN and ±Infinity are not). */
export function isWeight(value: unknown): value is number {
  return typeof value === 'number' && value >= minWeight && value <= maxWeight
}
