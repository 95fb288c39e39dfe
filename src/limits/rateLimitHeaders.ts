// The rate-limit headers clients already read, from the limits that apply: the classic X-RateLimit-* (requests),
// OpenAI's x-ratelimit-*-requests / -tokens, and the IETF draft's RateLimit-Policy / RateLimit.
import type { AppliedLimit } from './rules.js'
import type { TokenBucket } from './tokenBucket.js'

interface State {
  limit: AppliedLimit
  remaining: number
  resetSeconds: number
}

/** `6m0s`, `1s`: the duration format of OpenAI's reset headers. */
function openAiDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`
}

function openAiHeaders(unit: 'requests' | 'tokens', state: State): string[] {
  return [
    `x-ratelimit-limit-${unit}`,
    String(state.limit.value),
    `x-ratelimit-remaining-${unit}`,
    String(state.remaining),
    `x-ratelimit-reset-${unit}`,
    openAiDuration(state.resetSeconds),
  ]
}

/** The headers for the request and token limits that apply, each with its bucket. */
export function rateLimitHeaders(buckets: [AppliedLimit, TokenBucket][], now: number): string[] {
  const states: State[] = []
  for (const [limit, bucket] of buckets) {
    states.push({
      limit,
      remaining: Math.max(0, Math.floor(bucket.available(now))),
      resetSeconds: Math.ceil(bucket.fullInMs(now) / 1000),
    })
  }
  if (states.length === 0) return []
  // The tightest of each family speaks for it: the one with the least left.
  const tightest = (family: 'r' | 't') =>
    states
      .filter((state) => state.limit.kind.startsWith(family))
      .sort((a, b) => a.remaining / a.limit.value - b.remaining / b.limit.value)[0]
  const headers: string[] = []
  const requests = tightest('r')
  const tokens = tightest('t')
  if (requests) {
    const { value } = requests.limit
    headers.push('x-ratelimit-limit', String(value), 'x-ratelimit-remaining', String(requests.remaining))
    headers.push('x-ratelimit-reset', String(requests.resetSeconds))
    headers.push(...openAiHeaders('requests', requests))
  }
  if (tokens) headers.push(...openAiHeaders('tokens', tokens))
  const windowSeconds = (kind: string) => ({ m: 60, h: 3600, d: 86400 })[kind.slice(-1) as 'm' | 'h' | 'd']
  headers.push(
    'ratelimit-policy',
    states
      .map((state) => `"${state.limit.kind}";q=${state.limit.value};w=${windowSeconds(state.limit.kind)}`)
      .join(', '),
    'ratelimit',
    states.map((state) => `"${state.limit.kind}";r=${state.remaining};t=${state.resetSeconds}`).join(', '),
  )
  return headers
}
