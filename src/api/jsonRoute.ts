// A small JSON API route (auth, and later admin): authenticate, read a bounded JSON body, run the handler (which may
// be async: password hashing), answer JSON or a problem-details error. Not the proxy hot path.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { admit, type Authenticate } from '../auth/admit.js'
import { accessFor } from '../auth/permissions.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import { readBody } from '../http/bodyReader.js'
import { gatewayTiming, writeError } from '../http/errorResponse.js'
import { snapshotRequest, type RequestSnapshot } from '../http/requestSnapshot.js'
import { refuseHead } from '../http/refuseHead.js'
import { statusLine } from '../http/status.js'

const maxBody = 64 * 1024

export interface JsonCall {
  request: RequestSnapshot
  /** undefined on public routes. */
  principal: Principal | undefined
  body: Record<string, unknown>
  /** Route parameters, in order. */
  params: string[]
  address: string
}

/** A JSON body, or (`text`) a body sent as it is with its own content type (the Prometheus exposition). */
export type JsonReply =
  { status: number; body: unknown } | { status: number; text: string; contentType: string } | GatewayError

export interface JsonRouteContext {
  authenticate: Authenticate
  logger: Logger
}

export function jsonRoute(
  route: string,
  context: JsonRouteContext,
  handle: (call: JsonCall) => JsonReply | Promise<JsonReply>,
  paramCount = 0,
) {
  const access = accessFor(route)
  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, res, req.getUrl())
    const params = Array.from({ length: paramCount }, (_, index) => req.getParameter(index))
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'DELETE'
    if (request.refusal) return refuseHead(res, 'problem', request.requestId, request.refusal, startedAt)
    const principal = access === 'public' ? undefined : admit(context.authenticate, access, request.credential)
    if (principal instanceof GatewayError) {
      return writeError(res, 'problem', request.requestId, principal, hasBody, startedAt)
    }
    let aborted = false
    res.onAborted(() => (aborted = true))
    const answer = (reply: JsonReply): void => {
      if (aborted) return
      aborted = true
      res.cork(() => {
        if (reply instanceof GatewayError) return writeError(res, 'problem', request.requestId, reply, false, startedAt)
        res.writeStatus(statusLine(reply.status))
        res.writeHeader('content-type', 'text' in reply ? reply.contentType : 'application/json; charset=utf-8')
        res.writeHeader('cache-control', 'no-store')
        res.writeHeader('x-request-id', request.requestId)
        res.writeHeader('server-timing', gatewayTiming(startedAt))
        res.end('text' in reply ? reply.text : JSON.stringify(reply.body))
      })
    }
    const run = (body: Record<string, unknown>): void => {
      let reply: JsonReply | Promise<JsonReply>
      try {
        reply = handle({ request, principal, body, params, address: request.clientIp })
      } catch (error) {
        return answer(failure(error, context.logger, request.requestId))
      }
      if (reply instanceof Promise)
        reply.then(answer, (error: unknown) => answer(failure(error, context.logger, request.requestId)))
      else answer(reply)
    }
    if (!hasBody) return run({})
    readBody(res, request.contentLength, maxBody, (error, body) => {
      if (error) return answer(error)
      const parsed = parseObject(body)
      if (parsed instanceof GatewayError) return answer(parsed)
      run(parsed)
    })
  }
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
