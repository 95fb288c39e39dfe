// What a handler needs from uWS's HttpRequest, read synchronously: the request object is gone after the first await.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { presentedCredential } from '../auth/credentials.js'
import { pickRequestId } from './requestId.js'

export interface RequestSnapshot {
  /** Upper-case method, as sent upstream. */
  method: string
  /** Path without the query string. */
  path: string
  /** Raw query string without `?`, or ''. */
  query: string
  requestId: string
  /** Declared body length, or -1 when the body is chunked or absent. */
  contentLength: number
  /** Headers to send upstream as a flat [name, value, ...] list: end-to-end headers minus the client's credentials. */
  forwardHeaders: string[]
  /** The presented credential ('' for none; undefined for an Authorization header that is not Bearer). */
  credential: string | undefined
  /** When the request arrived (ms since epoch). */
  time: number
  clientIp: string
}

/** Not forwarded: hop-by-hop headers, framing undici sets itself, and the client's credentials (never sent on). */
const dropped = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'authorization',
  'x-api-key',
  'cookie',
  'x-request-id',
])

export function snapshotRequest(req: HttpRequest, res: HttpResponse, path: string): RequestSnapshot {
  const forwardHeaders: string[] = []
  let contentLength = -1
  let clientRequestId = ''
  let authorization = ''
  let apiKey = ''
  req.forEach((name, value) => {
    if (!dropped.has(name)) forwardHeaders.push(name, value)
    else if (name === 'content-length') contentLength = parseContentLength(value)
    else if (name === 'x-request-id') clientRequestId = value
    else if (name === 'authorization') authorization = value
    else if (name === 'x-api-key') apiKey = value
  })
  const requestId = pickRequestId(clientRequestId)
  forwardHeaders.push('x-request-id', requestId)
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path,
    query: req.getQuery() ?? '',
    requestId,
    contentLength,
    forwardHeaders,
    credential: presentedCredential(authorization, apiKey),
    time: Date.now(),
    clientIp: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'),
  }
}

function parseContentLength(value: string): number {
  return /^\d{1,15}$/.test(value) ? Number(value) : -1
}
