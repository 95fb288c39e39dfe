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

/**
 * The headers for the request and token limits that apply, each with its bucket. Remaining is a whole number ≥ 0
 * (a bucket in debt has none left), reset the whole seconds until the bucket is full again.
 */
export function rateLimitHeaders(buckets: [AppliedLimit, TokenBucket][], now: number): string[] {
  if (buckets.length === 0) return []
  // The tightest of each family speaks for it: the one with the least left, as a share of its limit.
  let requests = -1
  let tokens = -1
  let requestsShare = Infinity
  let tokensShare = Infinity
  const remaining: number[] = new Array(buckets.length)
  const reset: number[] = new Array(buckets.length)
  let policy = ''
  let state = ''
  for (let i = 0; i < buckets.length; i++) {
    const [limit, bucket] = buckets[i]!
    const left = Math.max(0, Math.floor(bucket.available(now)))
    const seconds = Math.ceil(bucket.fullInMs(now) / 1000)
    remaining[i] = left
    reset[i] = seconds
    const share = left / limit.value
    if (limit.kind.startsWith('r')) {
      if (share < requestsShare) [requests, requestsShare] = [i, share]
    } else if (share < tokensShare) [tokens, tokensShare] = [i, share]
    const separator = i === 0 ? '' : ', '
    policy += `${separator}"${limit.kind}";q=${limit.value};w=${windowSeconds[limit.kind.slice(-1)]}`
    state += `${separator}"${limit.kind}";r=${left};t=${seconds}`
  }
  const headers: string[] = []
  if (requests >= 0) {
    const limit = String(buckets[requests]![0].value)
    const left = String(remaining[requests])
    const seconds = reset[requests]!
    headers.push('x-ratelimit-limit', limit, 'x-ratelimit-remaining', left, 'x-ratelimit-reset', String(seconds))
    headers.push('x-ratelimit-limit-requests', limit, 'x-ratelimit-remaining-requests', left)
    headers.push('x-ratelimit-reset-requests', openAiDuration(seconds))
  }
  if (tokens >= 0) {
    headers.push('x-ratelimit-limit-tokens', String(buckets[tokens]![0].value))
    headers.push('x-ratelimit-remaining-tokens', String(remaining[tokens]))
    headers.push('x-ratelimit-reset-tokens', openAiDuration(reset[tokens]!))
  }
  headers.push('ratelimit-policy', policy, 'ratelimit', state)
  return headers
}
