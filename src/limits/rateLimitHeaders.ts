// The rate-limit headers clients already read, from the limits that apply: the classic X-RateLimit-* (requests),
// OpenAI's x-ratelimit-*-requests / -tokens, and the IETF draft's RateLimit-Policy / RateLimit. The one writer of
// them: an admitted request and a refused one (429) carry the same set, made here from the buckets' state.
import type { AppliedLimit } from './rules.js'
import type { TokenBucket } from './tokenBucket.js'

/** `6m0s`, `1s`: the duration format of OpenAI's reset headers. */
function openAiDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`
}

const windowSeconds: Record<string, number> = { m: 60, h: 3600, d: 86400 }

/** What the headers of one set of limits always say (their policy, their limits as text): made once per set. */
export interface HeaderPlan {
  limits: AppliedLimit[]
  policy: string
  /** `"rpm";r=` for each limit: the start of its part of the RateLimit header. */
  statePrefix: string[]
  limitText: string[]
  isRequests: boolean[]
}

export function headerPlan(limits: AppliedLimit[]): HeaderPlan {
  let policy = ''
  limits.forEach((limit, i) => {
    const separator = i === 0 ? '' : ', '
    policy += `${separator}"${limit.kind}";q=${limit.value};w=${windowSeconds[limit.kind.slice(-1)]}`
  })
  return {
    limits,
    policy,
    statePrefix: limits.map((limit, i) => `${i === 0 ? '' : ', '}"${limit.kind}";r=`),
    limitText: limits.map((limit) => String(limit.value)),
    isRequests: limits.map((limit) => limit.kind.startsWith('r')),
  }
}

/**
 * The headers for the request and token limits that apply, each with its bucket. Remaining is a whole number ≥ 0
 * (a bucket in debt has none left), reset the whole seconds until the bucket is full again.
 */
export function rateLimitHeaders(buckets: [AppliedLimit, TokenBucket][], now: number): string[] {
  if (buckets.length === 0) return []
  return planHeaders(
    headerPlan(buckets.map(([limit]) => limit)),
    buckets.map(([, bucket]) => bucket),
    now,
  )
}

/** The headers from a plan and its buckets (in the plan's order) as they are now. */
export function planHeaders(plan: HeaderPlan, buckets: TokenBucket[], now: number): string[] {
  // The tightest of each family speaks for it: the one with the least left, as a share of its limit.
  let requests = -1
  let tokens = -1
  let requestsShare = Infinity
  let tokensShare = Infinity
  let requestsLeft = 0
  let requestsReset = 0
  let tokensLeft = 0
  let tokensReset = 0
  let state = ''
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i]!
    const left = Math.max(0, Math.floor(bucket.available(now)))
    const seconds = Math.ceil(bucket.fullInMs(now) / 1000)
    const share = left / plan.limits[i]!.value
    if (plan.isRequests[i]) {
      if (share < requestsShare) {
        requests = i
        requestsShare = share
        requestsLeft = left
        requestsReset = seconds
      }
    } else if (share < tokensShare) {
      tokens = i
      tokensShare = share
      tokensLeft = left
      tokensReset = seconds
    }
    state += `${plan.statePrefix[i]}${left};t=${seconds}`
  }
  const headers: string[] = []
  if (requests >= 0) {
    const limit = plan.limitText[requests]!
    const left = String(requestsLeft)
    headers.push('x-ratelimit-limit', limit, 'x-ratelimit-remaining', left, 'x-ratelimit-reset', String(requestsReset))
    headers.push('x-ratelimit-limit-requests', limit, 'x-ratelimit-remaining-requests', left)
    headers.push('x-ratelimit-reset-requests', openAiDuration(requestsReset))
  }
  if (tokens >= 0) {
    headers.push('x-ratelimit-limit-tokens', plan.limitText[tokens]!)
    headers.push('x-ratelimit-remaining-tokens', String(tokensLeft))
    headers.push('x-ratelimit-reset-tokens', openAiDuration(tokensReset))
  }
  headers.push('ratelimit-policy', plan.policy, 'ratelimit', state)
  return headers
}
