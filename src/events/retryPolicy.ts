// When a failed delivery is tried again: exponential back-off from retry_delay, capped at max_retry_delay, with
// jitter (so receivers that come back are not hit by every sender at once), for at most retry_for after the event
// and max_attempts attempts; then the delivery is dead-lettered.

export interface RetryOptions {
  retryDelayMs: number
  maxRetryDelayMs: number
  retryForMs: number
  maxAttempts: number
}

/** After `attempts` failed attempts at `now`: when to try again, or undefined for a dead letter. */
export function nextAttemptAt(
  attempts: number,
  createdAt: number,
  now: number,
  options: RetryOptions,
  random: () => number,
): number | undefined {
  const deadline = createdAt + options.retryForMs
  if (attempts >= options.maxAttempts || now >= deadline) return undefined
  const ceiling = Math.min(options.maxRetryDelayMs, options.retryDelayMs * 2 ** Math.min(attempts - 1, 40))
  // Half fixed, half random: the delay still grows with each attempt.
  const delay = ceiling / 2 + random() * (ceiling / 2)
  // The last attempt is made at the deadline rather than skipped.
  return Math.min(Math.ceil(now + delay), deadline)
}
