// Failover: whether a request that failed on one backend before anything reached its client may be sent to another.
// Retried: a connection refused, unreachable or reset, no response head within timeouts.first_byte, and any 5xx head
// (Ollama's 503 "server busy, please try again.  maximum pending requests exceeded" among them), up to
// upstream.retries more backends. Never retried: anything once bytes went to the client, our own aborts (client gone,
// timeouts.total, shutdown), and a streamed upload (a blob push) once the backend started reading it — its bytes are
// gone, only a body that was never read, or is held whole in memory, can be sent again.
import type { Readable } from 'node:stream'
import { ExchangeAbort } from './upstreamErrors.js'

/** Why a request was tried again elsewhere: the label of parallama_upstream_retries_total. */
export type RetryReason = 'connect' | 'reset' | 'first_byte_timeout' | 'busy' | 'status_5xx'

export const retryReasons: readonly RetryReason[] = ['connect', 'reset', 'first_byte_timeout', 'busy', 'status_5xx']

/** The kind of a failure before the response head; undefined when it is not one another backend could fix. */
export function errorRetryReason(error: unknown): RetryReason | undefined {
  if (error instanceof ExchangeAbort) return undefined
  switch ((error as { code?: string } | null)?.code) {
    case 'ECONNREFUSED':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'connect'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset'
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'first_byte_timeout'
    default:
      return undefined
  }
}

/** The kind of a failed response head: a 503 is Ollama's "server busy", any other 5xx a failure of its own. */
export function statusRetryReason(status: number): RetryReason | undefined {
  if (status === 503) return 'busy'
  return status >= 500 ? 'status_5xx' : undefined
}

/**
 * Whether the request may go to one more backend: `tried` backends so far (the first one included), and a body that
 * can be sent again — held in memory (or none), or a stream nothing has read from yet.
 */
export function mayRetry(tried: number, retries: number, body: Buffer | Readable | null): boolean {
  if (tried > retries) return false
  if (body === null || Buffer.isBuffer(body)) return true
  return !body.destroyed && !body.readableDidRead
}
