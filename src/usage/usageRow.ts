// One request as the usage table records it.

/** exact: Ollama reported the counts; estimated: counted by the gateway (a stream cut short); unknown: no count at
 * all (legacy embeddings, an abort before any output); none: the route uses no tokens (tags, rejected requests). */
export type TokenSource = 'exact' | 'estimated' | 'unknown' | 'none'

export interface UsageRow {
  /** ms since epoch, when the request arrived. */
  time: number
  requestId: string
  userId: number | null
  username: string | null
  keyId: string | null
  api: string
  route: string
  model: string | null
  backend: string | null
  status: number
  errorCode: string | null
  promptTokens: number | null
  completionTokens: number | null
  tokens: TokenSource
  ttfbMs: number | null
  /** Whole ms the request waited in the gateway's queue (0: it never waited). */
  queueMs: number
  durationMs: number
  bytesIn: number
  bytesOut: number
  clientIp: string | null
  clientAborted: boolean
  cost: number
  /** How the response cache took part: hit (answered from it), miss, bypass; null: it took no part. */
  cache: 'hit' | 'miss' | 'bypass' | null
  /**
   * The row's tokens are not counted in the rollups that quotas and reports read: a cache hit (no backend worked for
   * them) unless cache.count_tokens. The row itself still carries them.
   */
  freeTokens: boolean
}
