// What a handler needs from uWS's HttpRequest, read synchronously: the request object is gone after the first await.
// It is also the one place that sees every header line (req.forEach), so it is where a request whose framing or
// credential could be read two ways is caught (RFC 9112 §6.3): such a request is answered 400 and its connection
// closed by the handler, its body never read nor forwarded. See docs/http.md.
import { maxHeaderBytes, type HttpRequest, type HttpResponse } from '../../native/uws.js'
import { presentedCredential } from '../auth/credentials.js'
import { GatewayError } from '../errors.js'
import { pickRequestId } from './requestId.js'
import { answeringHead } from './errorResponse.js'
import { clientAddress, type TrustedProxies } from './clientAddress.js'

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
  /** The Cookie header ('' for none): read only by the SSO callback (its sign-in cookie), never forwarded. */
  cookie: string
  /** When the request arrived (ms since epoch). */
  time: number
  /** The client's address: the peer's, or the one its trusted proxies name (clientAddress.ts); computed once here. */
  clientIp: string
  /** x-parallama-timestamp and x-parallama-signature ('' when absent): a signed request's (docs/signing.md). */
  signatureTimestamp: string
  signature: string
  /**
   * Set when the head is ambiguous (framing, credential) or carries bytes a header may not: the handler answers this
   * 400 and closes the connection, without reading the body.
   */
  refusal: GatewayError | undefined
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
  // A proxy chain is the gateway's to read (clientAddress.ts), never a backend's: what a client wrote there is not
  // passed on as if the gateway vouched for it.
  'forwarded',
  'x-forwarded-for',
  'x-real-ip',
  // The request's signature is checked here and is of no use behind the gateway.
  'x-parallama-timestamp',
  'x-parallama-signature',
])

/** What the header lines of one request say about its framing and credential (see `readHead`). */
export interface HeadFacts {
  forwardHeaders: string[]
  /** The declared body length; -1 without one. */
  contentLength: number
  clientRequestId: string
  credential: string | undefined
  /** Cookie header lines, joined as one (RFC 6265 §5.4). */
  cookie: string
  refusal: GatewayError | undefined
  /** Forwarded and X-Forwarded-For lines, each joined with commas in order ('' for none). */
  forwarded: string
  forwardedFor: string
  signatureTimestamp: string
  signature: string
}

/** RFC 9110 token characters, as uWS reports a field name (lower-cased). */
const tokenChars = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") tokenChars[c.charCodeAt(0)] = 1

/** A field name uWS reported: a non-empty token. */
function isToken(name: string): boolean {
  if (name.length === 0) return false
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c > 127 || tokenChars[c] === 0) return false
  }
  return true
}

/** A forwarded header value: visible ASCII, space and tab only (what undici will send on unchanged). */
function isForwardable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 32 && c !== 9) || c > 126) return false
  }
  return true
}

/** Any header value: no control bytes (RFC 9110 §5.5). Non-ASCII is allowed where it is not forwarded (cookies). */
function hasControlByte(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 32 && c !== 9) || c === 127) return true
  }
  return false
}

const decimal = /^\d{1,15}$/

/** `trusted`: the trusted proxies now (server.trusted_proxies), or undefined for none. */
export function snapshotRequest(
  req: HttpRequest,
  res: HttpResponse,
  path: string,
  trusted?: TrustedProxies,
): RequestSnapshot {
  const query = req.getQuery() ?? ''
  const head = readHead((visit) => req.forEach(visit), maxHeaderBytes() - path.length - query.length)
  const requestId = pickRequestId(head.clientRequestId)
  head.forwardHeaders.push('x-request-id', requestId)
  const method = req.getCaseSensitiveMethod().toUpperCase()
  if (method === 'HEAD') answeringHead(res)
  return {
    method,
    path,
    query,
    requestId,
    contentLength: head.refusal ? -1 : head.contentLength,
    forwardHeaders: head.forwardHeaders,
    credential: head.credential,
    cookie: head.cookie,
    time: Date.now(),
    clientIp: clientAddress(Buffer.from(res.getRemoteAddressAsText()).toString('latin1'), head, trusted),
    signatureTimestamp: head.signatureTimestamp,
    signature: head.signature,
    refusal: head.refusal,
  }
}

/**
 * The client address for an answer made without a snapshot (a 404, a 405, a dashboard file): the peer's, or when the
 * peer is a trusted proxy, the one its forwarding header names (read here, only then).
 */
export function clientIpOf(req: HttpRequest, res: HttpResponse, trusted: TrustedProxies | undefined): string {
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString('latin1')
  if (trusted === undefined || !trusted.has(peer)) return peer
  const lines = { forwarded: '', forwardedFor: '' }
  req.forEach((name, value) => {
    if (name === 'forwarded') lines.forwarded = lines.forwarded === '' ? value : `${lines.forwarded},${value}`
    else if (name === 'x-forwarded-for') {
      lines.forwardedFor = lines.forwardedFor === '' ? value : `${lines.forwardedFor},${value}`
    }
  })
  return clientAddress(peer, lines, trusted)
}

/**
 * Reads every header line once. The invariant: a request goes on only with one unambiguous framing (no body, or
 * exactly one decimal Content-Length, or exactly one `Transfer-Encoding: chunked`, never both) and at most one
 * credential; anything else is refused (first problem found), never resolved by picking one of the values.
 */
export function readHead(each: (visit: (name: string, value: string) => void) => void, maxBytes = Infinity): HeadFacts {
  const forwardHeaders: string[] = []
  let bytes = 0
  let lengths = 0
  let lengthText = ''
  let encodings = 0
  let encoding = ''
  let authorizations = 0
  let authorization = ''
  let apiKeys = 0
  let apiKey = ''
  let clientRequestId = ''
  let cookie = ''
  let forwarded = ''
  let forwardedFor = ''
  let timestamps = 0
  let signatureTimestamp = ''
  let signatures = 0
  let signature = ''
  let badHeader: string | undefined
  each((name, value) => {
    bytes += name.length + value.length + 4
    if (!dropped.has(name)) {
      if (badHeader === undefined && (!isToken(name) || !isForwardable(value))) badHeader = name
      forwardHeaders.push(name, value)
      return
    }
    if (badHeader === undefined && hasControlByte(value)) badHeader = name
    if (name === 'content-length') {
      lengths++
      lengthText = value
    } else if (name === 'transfer-encoding') {
      encodings++
      encoding = value
    } else if (name === 'authorization') {
      authorizations++
      authorization = value
    } else if (name === 'x-api-key') {
      apiKeys++
      apiKey = value
    } else if (name === 'x-request-id') clientRequestId = value
    else if (name === 'cookie') cookie = cookie === '' ? value : `${cookie}; ${value}`
    else if (name === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor},${value}`
    else if (name === 'forwarded') forwarded = forwarded === '' ? value : `${forwarded},${value}`
    else if (name === 'x-parallama-timestamp') {
      timestamps++
      signatureTimestamp = value
    } else if (name === 'x-parallama-signature') {
      signatures++
      signature = value
    }
  })
  const contentLength = lengths === 1 && decimal.test(trimOws(lengthText)) ? Number(trimOws(lengthText)) : -1
  const refusal =
    bytes > maxBytes
      ? new GatewayError(
          'headers_too_large',
          `the request line and headers are larger than the limit (server.max_header_bytes); the connection is closed`,
        )
      : badHeader !== undefined
        ? ambiguous(`header "${printable(badHeader)}" has a name or value with bytes a header may not carry`)
        : (framingProblem(lengths, contentLength, encodings, encoding) ??
          credentialProblem(authorizations, authorization, apiKeys, apiKey) ??
          (timestamps > 1 || signatures > 1 ? ambiguous('more than one request signature header') : undefined))
  const credential = refusal ? undefined : presentedCredential(authorization, apiKey)
  return {
    forwardHeaders,
    contentLength,
    clientRequestId,
    credential,
    cookie,
    refusal,
    forwarded,
    forwardedFor,
    signatureTimestamp: trimOws(signatureTimestamp),
    signature: trimOws(signature),
  }
}

function framingProblem(
  lengths: number,
  length: number,
  encodings: number,
  encoding: string,
): GatewayError | undefined {
  if (lengths > 1) return ambiguous('more than one Content-Length header')
  if (lengths === 1 && length < 0) return ambiguous('Content-Length is not a decimal number of bytes')
  if (encodings > 1) return ambiguous('more than one Transfer-Encoding header')
  if (encodings === 1 && trimOws(encoding).toLowerCase() !== 'chunked') {
    return ambiguous('Transfer-Encoding must be exactly "chunked"')
  }
  if (lengths === 1 && encodings === 1) return ambiguous('both Content-Length and Transfer-Encoding')
  return undefined
}

function credentialProblem(
  authorizations: number,
  authorization: string,
  apiKeys: number,
  apiKey: string,
): GatewayError | undefined {
  if (authorizations > 1) return ambiguous('more than one Authorization header')
  if (apiKeys > 1) return ambiguous('more than one x-api-key header')
  if (authorizations === 1 && apiKeys === 1 && presentedCredential(authorization, '') !== apiKey.trim()) {
    return ambiguous('Authorization and x-api-key present different credentials')
  }
  return undefined
}

function ambiguous(what: string): GatewayError {
  return new GatewayError('invalid_request', `ambiguous or malformed request head: ${what}; the connection is closed`)
}

/** Removes the optional whitespace (SP, HTAB) around a field value, and nothing else. */
function trimOws(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

/** A header name safe to quote in a message: at most 64 visible ASCII characters. */
function printable(name: string): string {
  return name.replace(/[^\x21-\x7e]/g, '?').slice(0, 64)
}
