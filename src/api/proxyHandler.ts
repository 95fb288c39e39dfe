// The uWS handler of one proxied route: snapshot the request, read or stream its body, check the fields the gateway
// needs, then hand it to an Exchange. Everything before the first callback runs synchronously, as uWS requires.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { readBody } from '../http/bodyReader.js'
import { streamBody } from '../http/bodyStream.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import { snapshotRequest, type RequestSnapshot } from '../http/requestSnapshot.js'
import { Exchange, type ExchangeContext, type ExchangeResult, type ExchangeRoute } from '../proxy/exchange.js'
import type { BodyKind, TokenUse } from './ollama.js'
import { readOllamaBody, type OllamaRequestFields, type RequiredFields } from './ollamaBody.js'
import { admit } from '../auth/admit.js'
import { normalizeModel } from '../auth/modelAllowList.js'
import { accessFor } from '../auth/permissions.js'
import type { Principal } from '../auth/principal.js'

export interface ProxyRouteSpec {
  dialect: Dialect
  /** The API the route belongs to, for usage rows. */
  api: string
  name: string
  /** Fixed upstream path, or a function of the request path params for parametrised routes. */
  upstreamPath: string | ((req: HttpRequest) => string | GatewayError)
  body: BodyKind
  required: RequiredFields
  sniffUsage: boolean
  tokens: TokenUse
}

export function proxyHandler(spec: ProxyRouteSpec, context: ExchangeContext) {
  const routeFor = (upstreamPath: string): ExchangeRoute => ({
    dialect: spec.dialect,
    api: spec.api,
    name: spec.name,
    upstreamPath,
    sniffUsage: spec.sniffUsage,
  })
  const fixedRoute = typeof spec.upstreamPath === 'string' ? routeFor(spec.upstreamPath) : undefined
  const limit = context.config.limits.max_body_bytes
  const access = context.open ? 'public' : accessFor(`${spec.dialect}.${spec.name}`)

  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, res, req.getUrl())
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
    const byAddress = context.admitAddress(request.clientIp, spec.api)
    /** Answers an error and reports the refused request (usage rows count rejected requests too). */
    const reject = (error: GatewayError, close: boolean, who?: Principal, model: string | null = null) => {
      if (!(byAddress instanceof GatewayError)) byAddress?.release(undefined)
      writeError(res, spec.dialect, request.requestId, error, close)
      context.onEnd?.(refused(request, spec, error, startedAt, who, model))
    }
    if (byAddress instanceof GatewayError) return reject(byAddress, hasBody)
    const principal = access === 'public' ? undefined : admit(context.authenticate, access, request.credential)
    if (principal instanceof GatewayError) return reject(principal, hasBody)
    let route = fixedRoute
    if (!route) {
      const path = (spec.upstreamPath as (req: HttpRequest) => string | GatewayError)(req)
      if (path instanceof GatewayError) return reject(path, true, principal)
      route = routeFor(path)
    }
    const backend = context.pick()
    if (!backend) return reject(new GatewayError('no_backend'), true, principal)
    const exchange = new Exchange(res, request, route, context, startedAt, principal)
    exchange.addressAdmission = byAddress
    /** Takes the request's share of its rate limits; false (answered 429) when a limit refuses it. */
    const admitted = (tokenEstimate: number | undefined, model: string | null = null): boolean => {
      if (!principal) return true
      const admission = context.admit(principal, spec.api, model, tokenEstimate)
      if (admission instanceof GatewayError) {
        reject(admission, false, principal, model)
        return false
      }
      exchange.admission = admission
      return true
    }
    if (!hasBody || spec.body === 'none') {
      if (!admitted(undefined)) return
      res.onAborted(exchange.clientAborted)
      return exchange.start(null, backend)
    }
    if (spec.body === 'stream') {
      if (!admitted(undefined)) return
      res.onAborted(exchange.clientAborted)
      exchange.bytesIn = Math.max(request.contentLength, 0)
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
      // Usage rows and per-model limits count a model by its normal form: `llama3` and `llama3:latest` are one model.
      const named = fields instanceof GatewayError ? undefined : fields.models[0]
      const model = named === undefined ? null : normalizeModel(named)
      const checked = fields instanceof GatewayError ? fields : modelRefusal(principal, fields.models)
      if (checked) {
        aborted = true
        // Past the size cap the rest of the body is unread: close the connection after answering.
        return res.cork(() => reject(checked, checked.code === 'body_too_large', principal, model))
      }
      // Tokens: what the request asks to generate (or the configured guess) plus ~4 bytes of prompt per token.
      const estimate =
        spec.sniffUsage || spec.name === 'embeddings' ? (fields as OllamaRequestFields).predict : undefined
      const tokens = estimate ?? (spec.sniffUsage ? context.config.limits.default_token_estimate : undefined)
      let refused = false
      res.cork(
        () => (refused = !admitted(tokens === undefined ? undefined : tokens + Math.ceil(body.length / 4), model)),
      )
      if (refused) {
        aborted = true
        return
      }
      exchange.model = model
      exchange.bytesIn = body.length
      exchange.start(body, backend)
    })
  }
}

function refused(
  request: RequestSnapshot,
  spec: ProxyRouteSpec,
  error: GatewayError,
  startedAt: number,
  principal: Principal | undefined,
  model: string | null,
): ExchangeResult {
  return {
    requestId: request.requestId,
    time: request.time,
    api: spec.api,
    route: spec.name,
    model,
    userId: principal?.userId ?? null,
    username: principal?.username ?? null,
    keyId: principal?.keyId ?? null,
    backend: null,
    status: error.status,
    errorCode: error.code,
    usage: undefined,
    chunks: 0,
    clientAborted: false,
    bytesIn: Math.max(request.contentLength, 0),
    bytesOut: 0,
    clientIp: request.clientIp,
    startedAt,
    firstByteAt: 0,
    endedAt: performance.now(),
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
