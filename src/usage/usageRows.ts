// Turns how a request ended into its usage row: exact counts where Ollama reported them, an explicit estimate or
// "unknown" where it did not, "none" where the route uses no tokens; cost from the prices.
import type { ExchangeResult } from '../proxy/exchange.js'
import type { Pricing } from './pricing.js'
import type { TokenSource, UsageRow } from './usageRow.js'

export function usageRowOf(result: ExchangeResult, pricing: Pricing): UsageRow {
  const { tokens, promptTokens, completionTokens } = countTokens(result)
  const hit = result.cache?.outcome === 'hit'
  return {
    time: result.time,
    requestId: result.requestId,
    userId: result.userId,
    username: result.username,
    keyId: result.keyId,
    api: result.api,
    route: result.route,
    model: result.model,
    backend: result.backend,
    status: result.status,
    errorCode: result.errorCode ?? null,
    promptTokens,
    completionTokens,
    tokens,
    ttfbMs: result.firstByteAt > 0 ? round(result.firstByteAt - result.startedAt) : null,
    durationMs: round(result.endedAt - result.startedAt),
    queueMs: Math.round(result.queueMs),
    bytesIn: result.bytesIn,
    bytesOut: result.bytesOut,
    clientIp: result.clientIp || null,
    clientAborted: result.clientAborted,
    // A hit ran no model: it costs nothing, whatever its tokens.
    cost: hit ? 0 : pricing.costOf(result.model, promptTokens, completionTokens),
    cache: result.cache?.outcome ?? null,
    freeTokens: hit && !result.cache!.countsTokens,
  }
}

function countTokens(result: ExchangeResult): {
  tokens: TokenSource
  promptTokens: number | null
  completionTokens: number | null
} {
  // A cache hit has no backend but carries the stored reply's counts.
  const answered = result.backend !== null || result.cache?.outcome === 'hit'
  if (!result.usesTokens || !answered || result.status >= 400) {
    return { tokens: 'none', promptTokens: null, completionTokens: null }
  }
  const usage = result.usage
  const completed = !result.clientAborted && result.errorCode === undefined && usage?.error === undefined
  if (
    completed &&
    usage &&
    (usage.promptTokens !== undefined || usage.completionTokens !== undefined || usage.doneReason)
  ) {
    // Ollama omits a count that is zero (a cached prompt, a load reply): missing means 0 on a completed reply.
    return { tokens: 'exact', promptTokens: usage.promptTokens ?? 0, completionTokens: usage.completionTokens ?? 0 }
  }
  // Cut short (or a route that reports nothing): each streamed chunk carries about one token; say it is a guess.
  if (!completed && result.chunks > 0 && result.route !== 'embed') {
    return { tokens: 'estimated', promptTokens: null, completionTokens: result.chunks }
  }
  return { tokens: 'unknown', promptTokens: null, completionTokens: null }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
