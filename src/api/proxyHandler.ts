// The uWS handler of one proxied route: snapshot the request, read or stream its body, check the fields the gateway
// needs, then hand it to an Exchange. Everything before the first callback runs synchronously, as uWS requires.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { readBody } from '../http/bodyReader.js'
import { streamBody } from '../http/bodyStream.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import { snapshotRequest, type RequestSnapshot } from '../http/requestSnapshot.js'
import { Exchange, type ExchangeContext, type ExchangeRoute } from '../proxy/exchange.js'
import type { BodyKind } from './ollama.js'
import { readOllamaBody, type RequiredFields } from './ollamaBody.js'
import { admit } from '../auth/admit.js'
import { accessFor } from '../auth/permissions.js'
import type { Principal } from '../auth/principal.js'

export interface ProxyRouteSpec {
  dialect: Dialect
  name: string
  /** Fixed upstream path, or a function of the request path params for parametrised routes. */
  upstreamPath: string | ((req: HttpRequest) => string | GatewayError)
  body: BodyKind
  required: RequiredFields
  sniffUsage: boolean
}

export function proxyHandler(spec: ProxyRouteSpec, context: ExchangeContext) {
  const fixedRoute: ExchangeRoute | undefined =
    typeof spec.upstreamPath === 'string'
      ? { dialect: spec.dialect, name: spec.name, upstreamPath: spec.upstreamPath, sniffUsage: spec.sniffUsage }
      : undefined
  const limit = context.config.limits.max_body_bytes
  const access = accessFor(`${spec.dialect}.${spec.name}`)

  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, req.getUrl())
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
    const principal = access === 'public' ? undefined : admit(context.authenticate, access, request.credential)
    if (principal instanceof GatewayError) return writeError(res, spec.dialect, request.requestId, principal, hasBody)
    let route = fixedRoute
    if (!route) {
      const path = (spec.upstreamPath as (req: HttpRequest) => string | GatewayError)(req)
      if (path instanceof GatewayError) return writeError(res, spec.dialect, request.requestId, path, true)
      route = { dialect: spec.dialect, name: spec.name, upstreamPath: path, sniffUsage: spec.sniffUsage }
    }
    const backend = context.pick()
    if (!backend) return writeError(res, spec.dialect, request.requestId, new GatewayError('no_backend'), true)
    const exchange = new Exchange(res, request, route, context, startedAt, principal)
    if (!hasBody || spec.body === 'none') {
      res.onAborted(exchange.clientAborted)
      return exchange.start(null, backend)
    }
    if (spec.body === 'stream') {
      res.onAborted(exchange.clientAborted)
      return exchange.start(streamBody(res), backend)
    }
    let aborted = false
    res.onAborted(() => {
      aborted = true
      exchange.clientAborted()
    })
    readBody(res, request.contentLength, limit, (error, body) => {
      if (aborted) return
      const fields = error ?? readOllamaBody(body, spec.required)
      const checked = fields instanceof GatewayError ? fields : modelRefusal(principal, fields.models)
      if (checked) {
        aborted = true
        return res.cork(() => refuse(res, spec.dialect, request, checked))
      }
      exchange.start(body, backend)
    })
  }
}

function modelRefusal(principal: Principal | undefined, models: string[]): GatewayError | undefined {
  if (!principal) return undefined
  for (const model of models) {
    if (!principal.allowsModel(model))
      return new GatewayError('model_not_allowed', `this credential may not use model "${model}"`)
  }
  return undefined
}

/** Answers an error without reading (the rest of) the body, so the connection closes after it. */
function refuse(res: HttpResponse, dialect: Dialect, request: RequestSnapshot, error: GatewayError): void {
  writeError(res, dialect, request.requestId, error, error.code === 'body_too_large')
}
