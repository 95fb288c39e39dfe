// A small JSON API route (auth, admin, system, OpenAI's files and batches): the address guard, authenticate, the
// caller's request limits, read a bounded JSON body (or hand an upload's body on as a stream), run the handler (which
// may be async: password hashing), answer JSON or an error in the route's dialect.
// Every such route passes the guard and the limits here, so that a new route cannot forget them. Not the proxy hot
// path.
import { callerAddressRefusal } from '../auth/callerAddress.js'
import { bodySha256Hex } from '../auth/requestSignature.js'
import type { TrustedProxies } from '../http/clientAddress.js'
import type { SignatureVerifier } from '../auth/requestSignature.js'
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { admit, type Authenticate } from '../auth/admit.js'
import type { Principal } from '../auth/principal.js'
import type { AuditTrail } from '../admin/auditTrail.js'
import type { AuditRecorder } from '../events/auditEntry.js'
import { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Admission, RouteLimits } from '../limits/limiter.js'
import type { Readable } from 'node:stream'
import { streamBody } from '../http/bodyStream.js'
import { ClientReply } from '../http/clientReply.js'
import { readBody } from '../http/bodyReader.js'
import { gatewayTiming, writeError } from '../http/errorResponse.js'
import { snapshotRequest, type RequestSnapshot } from '../http/requestSnapshot.js'
import { refuseHead } from '../http/refuseHead.js'
import { writeStatus } from '../http/status.js'
import type { LocalRoute } from './routeTable.js'
import { auditTrailOf, recordDenied } from './auditTrailOf.js'
import { isStreamReply, streamAnswer, type StreamingAnswer, type StreamReply } from './streamReply.js'

const maxBody = 64 * 1024

export interface JsonCall {
  request: RequestSnapshot
  /** undefined on public routes. */
  principal: Principal | undefined
  body: Record<string, unknown>
  /** An upload route's body (LocalRoute.upload), read as the handler consumes it; undefined on other routes. */
  upload: Readable | undefined
  /** The query string without `?` ('' for none). */
  query: string
  /** Route parameters, in order, percent-decoded (`/limits/ip/10.0.0.0%2F8` names `10.0.0.0/8`). */
  params: string[]
  /** A request header by its lower-case name (the last line of it), or undefined: If-Match for the admin API. */
  header: (name: string) => string | undefined
  address: string
  /** Who is calling, for the audit rows of what the handler changes or reads (src/admin/auditTrail.ts). */
  trail: AuditTrail
  /**
   * A public route that accepts a credential after all (/metrics from an address not allow-listed): puts that caller
   * under its request limits too. A refusal (429, with the rate-limit headers) is returned to be answered.
   */
  limitCaller: (principal: Principal) => GatewayError | undefined
}

/**
 * A JSON body, or (`text`) a body sent as it is with its own content type (the Prometheus exposition); `headers` go
 * out with it (an object's ETag). Or a body streamed as it is made (streamReply.ts).
 */
export type JsonReply =
  | { status: number; body: unknown; headers?: Readonly<Record<string, string>> }
  | { status: number; text: string; contentType: string; headers?: Readonly<Record<string, string>> }
  | StreamReply
  | GatewayError

export interface JsonRouteContext {
  authenticate: Authenticate
  logger: Logger
  limits: RouteLimits
  /** The trusted proxies now (server.trusted_proxies): the snapshot finds the client behind them. */
  trustedProxies?: () => TrustedProxies | undefined
  /** Signed requests' check (keys that require them); without it a signed key is refused (fails closed). */
  signatures?: SignatureVerifier
  /** The audit log: changes and sensitive reads, and refusals of admin routes. */
  audit: AuditRecorder
}

/** What a JSON route does once its caller is admitted. */
export type JsonHandler = (call: JsonCall) => JsonReply | Promise<JsonReply>

/**
 * `limited` (every route but two): the address guard, then the caller's request limits — request buckets and
 * concurrency, on the API named by the route's prefix (`auth`, `admin`, `system`: only `*` rules apply there); calendar
 * quotas count model requests only, which write the usage rows they are rebuilt from. `probe` (/health, /ready): no
 * guard, so that a load balancer's checks are never refused by a limit and take a healthy gateway out of rotation.
 */
export type RouteGuard = 'limited' | 'probe'

export function jsonRoute(
  route: LocalRoute,
  context: JsonRouteContext,
  handle: JsonHandler,
  /** More headers on every answer (a deprecated path's), from the request path. */
  headersFor?: (path: string) => readonly string[],
) {
  const { access, api, guard, dialect } = route
  // uWS numbers the `:param` segments in order.
  const paramCount = route.paths[0]!.split('/').filter((segment) => segment.startsWith(':')).length
  const { limits } = context
  const handler = (res: HttpResponse, req: HttpRequest, request: RequestSnapshot, startedAt: number): void => {
    const params = decodedParams(Array.from({ length: paramCount }, (_, index) => req.getParameter(index)))
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'DELETE'
    if (request.refusal) return refuseHead(res, dialect, request.requestId, request.refusal, startedAt)
    if (params instanceof GatewayError) {
      return writeError(res, dialect, request.requestId, params, hasBody, startedAt, headersFor?.(request.path))
    }
    const more = headersFor?.(request.path)
    const byAddress = guard === 'probe' ? undefined : limits.admitAddress(request.clientIp, api)
    if (byAddress instanceof GatewayError) {
      return writeError(res, dialect, request.requestId, byAddress, hasBody, startedAt, more)
    }
    let admission: Admission | undefined
    let released = false
    /** Frees what the limits hold for this request (concurrency slots): once, when answered or aborted. */
    const release = (): void => {
      if (released) return
      released = true
      admission?.release(undefined)
      byAddress?.release(undefined)
    }
    const limitCaller = (caller: Principal): GatewayError | undefined => {
      if (guard === 'probe' || admission) return undefined
      const admitted = limits.admit(caller, api, null, undefined, false)
      if (admitted instanceof GatewayError) return admitted
      admission = admitted
      return undefined
    }
    const principal = access === 'public' ? undefined : admit(context.authenticate, access, request.credential)
    if (principal instanceof GatewayError && principal.code === 'permission_denied' && api === 'admin') {
      recordDenied(context.audit, request, context.authenticate(request.credential), route.name, principal)
    }
    // A signed key's limits wait for its signature, checked once the body is complete (admitSigned).
    const secret = principal instanceof GatewayError ? undefined : principal?.signingSecret
    const refused =
      principal instanceof GatewayError
        ? principal
        : principal &&
          (callerAddressRefusal(principal, request.clientIp) ?? (secret ? undefined : limitCaller(principal)))
    if (refused) {
      release()
      return writeError(res, dialect, request.requestId, refused, hasBody, startedAt, more)
    }
    let aborted = false
    let streaming: StreamingAnswer | undefined
    // An upload's body, streamed to its handler; `uploaded` once its last byte came (before that, a refusal closes).
    let upload: { reply: ClientReply; body: Readable } | undefined
    let uploaded = false
    res.onAborted(() => {
      aborted = true
      release()
      streaming?.clientGone()
      if (upload) {
        upload.reply.markAborted()
        upload.body.destroy(new Error('the client went away during the upload'))
      }
    })
    const answer = (reply: JsonReply): void => {
      // A handler's own refusal (another user's key) is as much a denial as the route's permission.
      if (reply instanceof GatewayError && reply.code === 'permission_denied' && api === 'admin') {
        recordDenied(context.audit, request, principal as Principal, route.name, reply)
      }
      // A HEAD of a streamed answer (a file's content): its head alone, the producer never started.
      if (isStreamReply(reply) && request.method === 'HEAD') {
        release()
        if (aborted) return
        aborted = true
        res.cork(() => {
          writeStatus(res, reply.status)
          res.writeHeader('content-type', reply.contentType)
          res.writeHeader('cache-control', 'no-store')
          res.writeHeader('x-request-id', request.requestId)
          res.endWithoutBody()
        })
        return
      }
      if (isStreamReply(reply)) {
        streaming = startStream(res, reply, aborted, release, request.requestId, startedAt, more, admission?.headers)
        aborted = true
        return
      }
      release()
      if (aborted) return
      aborted = true
      res.cork(() => {
        // A refusal after the caller was admitted carries its rate-limit headers like any other answer.
        if (reply instanceof GatewayError) {
          return writeError(
            res,
            dialect,
            request.requestId,
            reply,
            upload !== undefined && !uploaded,
            startedAt,
            joined(more, admission?.headers),
          )
        }
        writeStatus(res, reply.status)
        res.writeHeader('content-type', 'text' in reply ? reply.contentType : 'application/json; charset=utf-8')
        res.writeHeader('cache-control', 'no-store')
        res.writeHeader('x-request-id', request.requestId)
        res.writeHeader('server-timing', gatewayTiming(startedAt))
        const headers = joined(more, admission?.headers)
        if (headers) for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!)
        for (const [name, value] of Object.entries(reply.headers ?? {})) res.writeHeader(name, value)
        const body = 'text' in reply ? reply.text : JSON.stringify(reply.body)
        if (request.method !== 'HEAD') return void res.end(body)
        // The length as a header: given to endWithoutBody, this uWS build waits for that many bytes (docs/http.md).
        res.writeHeader('content-length', String(Buffer.byteLength(body)))
        res.endWithoutBody()
      })
    }
    const run = (body: Record<string, unknown>): void => {
      let reply: JsonReply | Promise<JsonReply>
      try {
        reply = handle({
          request,
          principal: principal as Principal | undefined,
          body,
          upload: upload?.body,
          query: request.query,
          params,
          header: (name) => headerOf(request, name),
          address: request.clientIp,
          trail: auditTrailOf(context.audit, request, principal as Principal | undefined),
          // A credential a handler accepts itself (/metrics) passes the same checks as one the route admits.
          limitCaller: (caller) =>
            callerAddressRefusal(caller, request.clientIp) ??
            (caller.signingSecret && context.signatures
              ? context.signatures.check(caller.signingSecret, request, bodySha256Hex(undefined))
              : undefined) ??
            limitCaller(caller),
        })
      } catch (error) {
        return answer(failure(error, context.logger, request.requestId))
      }
      if (reply instanceof Promise)
        reply.then(answer, (error: unknown) => answer(failure(error, context.logger, request.requestId)))
      else answer(reply)
    }
    /** A signed key's request: its signature over the complete body, then (only then) its limits. */
    const admitSigned = (body: Buffer | undefined): GatewayError | undefined => {
      if (secret === undefined) return undefined
      const bad = context.signatures
        ? context.signatures.check(secret, request, bodySha256Hex(body))
        : new GatewayError('signature_invalid', 'this route cannot check request signatures')
      return bad ?? limitCaller(principal as Principal)
    }
    if (hasBody && route.upload) {
      // Too large to collect: its signature cannot cover it (as a proxied stream's), so a signed key is refused.
      if (secret !== undefined) {
        return answer(new GatewayError('signature_invalid', 'a signed key cannot upload files (the body is streamed)'))
      }
      const reply = new ClientReply(res)
      upload = { reply, body: streamBody(reply) }
      upload.body.once('end', () => (uploaded = true))
      return run({})
    }
    if (!hasBody) {
      const unsigned = admitSigned(undefined)
      return unsigned ? answer(unsigned) : run({})
    }
    readBody(res, request.contentLength, maxBody, (error, body) => {
      if (error) return answer(error)
      const unsigned = admitSigned(body)
      if (unsigned) return answer(unsigned)
      const parsed = parseObject(body)
      if (parsed instanceof GatewayError) return answer(parsed)
      run(parsed)
    })
  }
  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, res, req.getUrl(), context.trustedProxies?.())
    try {
      handler(res, req, request, startedAt)
    } catch (error) {
      // A bug before any answer (uWS ends the process if a handler returns without one): logged, answered 500.
      const failed = failure(error, context.logger, request.requestId)
      try {
        res.cork(() => writeError(res, dialect, request.requestId, failed, true, startedAt))
      } catch {
        // Already answered: nothing more to say.
      }
    }
  }
}

/** Each parameter percent-decoded; one that does not decode is a 400 naming it. */
function decodedParams(raw: string[]): string[] | GatewayError {
  const decoded: string[] = []
  for (const param of raw) {
    try {
      decoded.push(decodeURIComponent(param))
    } catch {
      return new GatewayError('invalid_request', `the path segment "${param}" is not valid percent-encoding`)
    }
  }
  return decoded
}

/** The request's last line of a header (hop-by-hop and credential headers are not kept, nor wanted here). */
function headerOf(request: RequestSnapshot, name: string): string | undefined {
  const lines = request.forwardHeaders
  for (let i = lines.length - 2; i >= 0; i -= 2) if (lines[i] === name) return lines[i + 1]
  return undefined
}

/**
 * A streamed answer (kept apart from the whole ones: it holds the caller's limits until the stream ends, not until
 * the handler returns). Nothing starts when the client already left.
 */
function startStream(
  res: HttpResponse,
  reply: StreamReply,
  clientLeft: boolean,
  release: () => void,
  requestId: string,
  startedAt: number,
  more: readonly string[] | undefined,
  limitHeaders: readonly string[] | undefined,
): StreamingAnswer | undefined {
  if (clientLeft) {
    release()
    return undefined
  }
  const headers = ['cache-control', 'no-store', 'x-request-id', requestId, 'server-timing', gatewayTiming(startedAt)]
  return streamAnswer(res, reply, [...headers, ...(joined(more, limitHeaders) ?? [])], release)
}

function joined(first: readonly string[] | undefined, second: readonly string[] | undefined) {
  return first && second ? [...first, ...second] : (first ?? second)
}

function parseObject(body: Buffer): Record<string, unknown> | GatewayError {
  if (body.length === 0) return {}
  try {
    const value: unknown = JSON.parse(body.toString('utf8'))
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {
    return new GatewayError('invalid_json')
  }
  return new GatewayError('invalid_json', 'request body must be a JSON object')
}

/** Errors with a code of ours answer as themselves; anything else is a bug: logged, answered 500. */
function failure(error: unknown, logger: Logger, requestId: string): GatewayError {
  if (error instanceof GatewayError) return error
  logger.error('handler failed', { request_id: requestId, err: error })
  return new GatewayError('internal_error')
}

/** A required string field, or the error naming it. */
export function stringField(body: Record<string, unknown>, name: string): string | GatewayError {
  const value = body[name]
  if (typeof value !== 'string' || value === '') {
    return new GatewayError('invalid_request', `"${name}" is required and must be a non-empty string`)
  }
  return value
}

/** An optional string field: undefined when absent. */
export function optionalString(body: Record<string, unknown>, name: string): string | undefined | GatewayError {
  return body[name] === undefined ? undefined : stringField(body, name)
}
