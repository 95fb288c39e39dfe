// Which upstream response headers reach the client: end-to-end ones only. uWS writes its own framing
// (Content-Length / Transfer-Encoding) and Date, so copying those would corrupt or duplicate them.
const dropped = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'date',
  'x-request-id',
  // The transport policy is the gateway's own (server.tls.hsts), not a backend's.
  'strict-transport-security',
])

export interface UpstreamHead {
  /** Flat [name, value, ...] to write to the client. */
  headers: string[]
  /** -1 when the upstream did not declare a length. */
  contentLength: number
  contentType: string
  hasRetryAfter: boolean
}

/**
 * Reads the head undici parsed (names lower-cased, values latin1, a repeated header as an array): undici's current
 * handler API hands it over parsed, so reading the raw lines again would parse every header twice.
 */
export function readUpstreamHead(
  parsed: Record<string, string | string[] | undefined>,
  requestId: string,
): UpstreamHead {
  const headers: string[] = []
  let contentLength = -1
  let contentType = ''
  let hasRetryAfter = false
  for (const name in parsed) {
    const value = parsed[name]
    if (value === undefined) continue
    if (name === 'content-length') contentLength = Number(value)
    else if (name === 'content-type') contentType = typeof value === 'string' ? value : value[0]!
    else if (name === 'retry-after') hasRetryAfter = true
    if (dropped.has(name)) continue
    if (typeof value === 'string') headers.push(name, value)
    else for (const each of value) headers.push(name, each)
  }
  headers.push('x-request-id', requestId)
  return { headers, contentLength, contentType, hasRetryAfter }
}

/** A request's wait in the gateway's queue, as its state holds it (src/api/requestState.ts: queued, queueMs). */
export interface QueueWait {
  readonly queued: boolean
  readonly queueMs: number
}

/**
 * The Server-Timing entry for a request that went through the gateway's queue — `queue;dur=<ms>, ` (0.1 ms precision;
 * 0 when a slot was free), put before the gateway's own entries on the same line — and '' for one that did not (no
 * string built).
 */
export function queueTiming(wait: QueueWait): string {
  return wait.queued ? `queue;dur=${Math.round(wait.queueMs * 10) / 10}, ` : ''
}
