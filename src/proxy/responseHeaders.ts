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
])

export interface UpstreamHead {
  /** Flat [name, value, ...] to write to the client. */
  headers: string[]
  /** -1 when the upstream did not declare a length. */
  contentLength: number
  contentType: string
  hasRetryAfter: boolean
}

export function readUpstreamHead(rawHeaders: Buffer[], requestId: string): UpstreamHead {
  const headers: string[] = []
  let contentLength = -1
  let contentType = ''
  let hasRetryAfter = false
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toString('latin1').toLowerCase()
    const value = rawHeaders[i + 1]!.toString('latin1')
    if (name === 'content-length') contentLength = Number(value)
    else if (name === 'content-type') contentType = value
    else if (name === 'retry-after') hasRetryAfter = true
    if (!dropped.has(name)) headers.push(name, value)
  }
  headers.push('x-request-id', requestId)
  return { headers, contentLength, contentType, hasRetryAfter }
}
