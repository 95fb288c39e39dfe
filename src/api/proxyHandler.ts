// The uWS handler of one proxied route: snapshot the request, read or stream its body, check the fields the gateway
// needs, then hand it to an Exchange. Everything before the first callback runs synchronously, as uWS requires.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { readBody } from '../http/bodyReader.js'
import { streamBody } from '../http/bodyStream.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import { snapshotRequest, type RequestSnapshot } from '../http/requestSnapshot.js'
import { refuseHead } from '../http/refuseHead.js'
import { Exchange, type ExchangeContext, type ExchangeResult, type ExchangeRoute } from '../proxy/exchange.js'
import type { BodyKind, TokenUse } from './ollama.js'
import { maxTokenEstimate, tokenCapEdits, type RequestFields } from './requestFields.js'
import { applyEdits } from './jsonFields.js'
import type { TapFactory } from '../proxy/responseTap.js'
import type { RequestPlugins } from '../plugins/chain.js'
import { admit } from '../auth/admit.js'
import { anyModel, normalizeModel } from '../auth/modelAllowList.js'
import { accessFor } from '../auth/permissions.js'
import type { Principal } from '../auth/principal.js'
import { pluginStage } from '../plugins/handlerStage.js'

export interface ProxyRouteSpec {
  dialect: Dialect
  /** The API the route belongs to, for usage rows, limits and the permission table. */
  api: string
  name: string
  /** Fixed upstream path, or one made from the request (its path params, or the model its path names). */
  upstreamPath: string | ((req: HttpRequest, fields: RequestFields | undefined) => string | GatewayError)
  body: BodyKind
  /** Reads a JSON body: the model (aliases resolved), streaming, the token limit, the body to send if changed. */
  readFields?: (body: Buffer) => RequestFields | GatewayError
  /** Routes whose path names the model (GET /v1/models/{model}): the fields that model gives. */
  pathFields?: (req: HttpRequest) => RequestFields | GatewayError
  tokens: TokenUse
  /** The response tap for one request (token counts; what the API changes in the reply). */
  tap?: (fields: RequestFields | undefined, principal: Principal | undefined) => TapFactory | undefined
}

const shuttingDown = new GatewayError('shutting_down', undefined, { 'retry-after': '1' })

export function proxyHandler(spec: ProxyRouteSpec, context: ExchangeContext) {
  const routeFor = (upstreamPath: string): ExchangeRoute => ({
    dialect: spec.dialect,
    api: spec.api,
    name: spec.name,
    upstreamPath,
  })
  const fixedRoute = typeof spec.upstreamPath === 'string' ? routeFor(spec.upstreamPath) : undefined
  const access = context.open ? 'public' : accessFor(`${spec.api}.${spec.name}`)

  const handle = (res: HttpResponse, req: HttpRequest, request: RequestSnapshot, startedAt: number): void => {
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
    if (request.refusal) {
      // A head that reads two ways (framing, credential): answered and closed, the body never read (docs/http.md).
      refuseHead(res, spec.dialect, request.requestId, request.refusal, startedAt)
      return context.onEnd?.(refused(request, spec, request.refusal, startedAt, undefined, null))
    }
    if (context.draining) {
      writeError(res, spec.dialect, request.requestId, shuttingDown, true, startedAt)
      context.onEnd?.(refused(request, spec, shuttingDown, startedAt, undefined, null))
      return
    }
    const byAddress = context.admitAddress(request.clientIp, spec.api)
    /**
     * Answers an error and reports the refused request (usage rows count rejected requests too). A known caller refused
     * before its admission (a bad body, a model outside its key) still spends a request of its limits and gets their
     * headers, so that refusals are no way around the limits: past them, the answer is the 429.
     */
    /** plugins: this request's view of the plugin chain, once made: a refusal's end is reported to it too. */
    let pluginView: RequestPlugins | undefined
    const reject = (error: GatewayError, close: boolean, who?: Principal, model: string | null = null) => {
      if (!(byAddress instanceof GatewayError)) byAddress?.release(undefined)
      let headers: readonly string[] | undefined
      if (who && !exchangeAdmitted) {
        const charged = context.admit(who, spec.api, null, undefined, false)
        if (charged instanceof GatewayError) error = charged
        else {
          charged.release(undefined)
          headers = charged.headers
        }
      }
      writeError(res, spec.dialect, request.requestId, error, close, startedAt, headers)
      const result = refused(request, spec, error, startedAt, who, model)
      context.onEnd?.(result)
      pluginView?.end(result) // plugins: onEnd
    }
    /** Set once the request's own admission was asked for (granted or refused with its 429). */
    let exchangeAdmitted = false
    if (byAddress instanceof GatewayError) return reject(byAddress, hasBody)
    const principal = access === 'public' ? undefined : admit(context.authenticate, access, request.credential)
    if (principal instanceof GatewayError) return reject(principal, hasBody)
    const pathFields = spec.pathFields?.(req)
    if (pathFields instanceof GatewayError) return reject(pathFields, hasBody, principal)
    if (pathFields) {
      const refusal = modelRefusal(principal, pathFields)
      if (refusal) return reject(refusal, hasBody, principal, normalizeModel(pathFields.models[0]!))
    }
    let route = fixedRoute
    if (!route) {
      const path = (spec.upstreamPath as Exclude<ProxyRouteSpec['upstreamPath'], string>)(req, pathFields)
      if (path instanceof GatewayError) return reject(path, true, principal)
      route = routeFor(path)
    }
    const backend = context.pick()
    if (!backend) return reject(new GatewayError('no_backend'), true, principal)
    const exchange = new Exchange(res, request, route, context, startedAt, principal)
    exchange.addressAdmission = byAddress
    // plugins: the request's view of the chain (none without plugins): its chunks and its end go to the hooks.
    const chain = context.plugins?.chain
    if (chain) pluginView = exchange.plugins = chain.forRequest(request.requestId, spec.api, spec.name)
    /** Takes the request's share of its rate limits; false (answered 429) when a limit refuses it. */
    const admitted = (tokenEstimate: number | undefined, model: string | null = null): boolean => {
      if (!principal) return true
      exchangeAdmitted = true
      const admission = context.admit(principal, spec.api, model, tokenEstimate)
      if (admission instanceof GatewayError) {
        reject(admission, false, principal, model)
        return false
      }
      exchange.admission = admission
      return true
    }
    if (!hasBody || spec.body === 'none') {
      const model = pathFields ? normalizeModel(pathFields.models[0]!) : null
      if (!admitted(undefined, model)) return
      exchange.model = model
      exchange.tapFactory = spec.tap?.(pathFields, principal)
      res.onAborted(exchange.clientAborted)
      return exchange.start(null, backend)
    }
    if (spec.body === 'stream' || !spec.readFields) {
      if (!admitted(undefined)) return
      res.onAborted(exchange.clientAborted)
      exchange.bytesIn = Math.max(request.contentLength, 0)
      return exchange.start(streamBody(exchange.reply), backend)
    }
    let aborted = false
    let started = false
    res.onAborted(() => {
      if (aborted) return
      aborted = true
      if (started) return exchange.clientAborted()
      // Gone while its body was still coming: nothing went upstream, so the exchange will never finish. Free what the
      // address guard took and record the request here (every request leaves one row).
      if (!(byAddress instanceof GatewayError)) byAddress?.release(undefined)
      // plugins: gone while the plugins ran: nothing went upstream, so no token was used.
      exchange.admission?.release(0)
      const result = refused(request, spec, undefined, startedAt, principal, null)
      context.onEnd?.(result)
      exchange.plugins?.end(result)
    })
    const readFields = spec.readFields
    const onBody = (error: GatewayError | undefined, body: Buffer): void => {
      if (aborted) return
      const fields = error ?? readFields(body)
      // Usage rows and per-model limits count a model by its normal form: `llama3` and `llama3:latest` are one model.
      const named = fields instanceof GatewayError ? undefined : fields.models[0]
      const model = named === undefined ? null : normalizeModel(named)
      const checked = fields instanceof GatewayError ? fields : modelRefusal(principal, fields)
      if (checked) {
        aborted = true
        // Past the size cap the rest of the body is unread: close the connection after answering.
        res.cork(() => reject(checked, checked.code === 'body_too_large', principal, model))
        return
      }
      const read = fields as RequestFields
      let refused = false
      const estimate = (read: RequestFields) =>
        tokenEstimate(spec.tokens, read, (read.rewritten ?? body).length, context)
      res.cork(() => (refused = !admitted(estimate(read), model)))
      if (refused) {
        aborted = true
        return
      }
      // plugins: onRequest hooks (stage 6, after the limits): rewrite (read again, allow-list again), refuse, answer.
      if (chain?.requestHooks.length) {
        exchange.bytesIn = body.length
        return pluginStage({
          chain,
          exchange,
          request,
          spec,
          principal,
          model,
          fields: read,
          body,
          startedAt,
          allowed: (fields) => modelRefusal(principal, fields),
          onEnd: context.onEnd,
          claim: () => !aborted && (started = true),
          go: (read, body, changed) => {
            // A rewrite that changes the model is admitted again, under the limits of the model that will run.
            if (changed !== model) {
              exchange.admission?.release(0)
              res.cork(() => (refused = !admitted(estimate(read), changed)))
              if (refused) return void (aborted = true)
            }
            forward(read, body, changed)
          },
        })
      }
      exchange.bytesIn = body.length
      forward(read, body, model)
    }
    const forward = (read: RequestFields, body: Buffer, model: string | null): void => {
      let sent = read.rewritten ?? body
      // Under a calendar token quota, the reply may generate at most what the quota has left (less the prompt's
      // estimate): a quota's debt is forgiven when its period ends, so an unlimited reply would take any number.
      const left = exchange.admission?.tokensLeft
      if (left !== undefined && read.tokenField && spec.tokens === 'generate') {
        const cap = Math.max(1, Math.min(left, maxTokenEstimate) - Math.ceil(sent.length / 4))
        if (read.predict === undefined || read.predict > cap) {
          sent = applyEdits(body, [...(read.edits ?? []), ...tokenCapEdits(body, read.tokenField, cap)])
        }
      }
      exchange.model = model
      exchange.tapFactory = spec.tap?.(read, principal)
      started = true
      exchange.start(sent, backend)
    }
    readBody(res, request.contentLength, context.config.limits.max_body_bytes, (error, body) => {
      try {
        onBody(error, body)
      } catch (failure) {
        internalError(res, spec, request, startedAt, failure, context)
      }
    })
  }
  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, res, req.getUrl())
    try {
      handle(res, req, request, startedAt)
    } catch (error) {
      internalError(res, spec, request, startedAt, error, context)
    }
  }
}

/**
 * A bug in a handler: logged with its stack and the request id, answered 500 in the route's dialect (unless an answer
 * already went out), counted like any refused request. The process and the next request go on.
 */
function internalError(
  res: HttpResponse,
  spec: ProxyRouteSpec,
  request: RequestSnapshot,
  startedAt: number,
  error: unknown,
  context: ExchangeContext,
): void {
  context.logger?.error('request handler failed', { request_id: request.requestId, route: spec.name, err: error })
  const failure = new GatewayError('internal_error')
  try {
    res.cork(() => writeError(res, spec.dialect, request.requestId, failure, true, startedAt))
  } catch {
    // The response was already ended or the client is gone: nothing more to say.
  }
  context.onEnd?.(refused(request, spec, failure, startedAt, undefined, null))
}

/**
 * Tokens a request reserves against token limits: what it may generate (its own limit, else the configured guess)
 * plus about one token per 4 bytes of prompt; an embedding only its prompt; other routes none. Always a finite integer
 * from 0 to maxTokenEstimate, whatever the request said: the limiter never sees NaN, Infinity or a float that absorbs
 * the settlement.
 */
function tokenEstimate(
  use: TokenUse,
  fields: RequestFields,
  bodyBytes: number,
  context: ExchangeContext,
): number | undefined {
  if (use === 'none') return undefined
  const prompt = Math.ceil(Math.max(bodyBytes, 0) / 4)
  const generated = use === 'embed' ? 0 : (fields.predict ?? context.config.limits.default_token_estimate)
  const estimate = prompt + generated
  // Fail closed: anything that is not a sane integer reserves the most a request can.
  return Number.isSafeInteger(estimate) && estimate >= 0 ? Math.min(estimate, maxTokenEstimate) : maxTokenEstimate
}

/** How a request that never reached a backend ended: refused with `error`, or (undefined) left by its client. */
function refused(
  request: RequestSnapshot,
  spec: ProxyRouteSpec,
  error: GatewayError | undefined,
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
    status: error?.status ?? 0,
    errorCode: error?.code,
    limitKind: error?.detail,
    usage: undefined,
    chunks: 0,
    clientAborted: error === undefined,
    bytesIn: Math.max(request.contentLength, 0),
    bytesOut: 0,
    clientIp: request.clientIp,
    startedAt,
    dispatchedAt: 0,
    firstByteAt: 0,
    endedAt: performance.now(),
  }
}

/**
 * The allow-list applies to every model the request names, as Ollama will use it: the one that runs (an alias
 * resolved) and those it uses besides (copy's source and destination, create's `from` and Modelfile FROMs). A refused
 * alias is named as the client sent it.
 */
function modelRefusal(principal: Principal | undefined, fields: RequestFields): GatewayError | undefined {
  if (!principal) return undefined
  for (const [index, model] of fields.models.entries()) {
    if (principal.allowsModel(model)) continue
    const named = fields.alias !== undefined && index === 0 ? `${fields.alias}" (${model})` : `${model}"`
    return new GatewayError('model_not_allowed', `this credential may not use model "${named}`)
  }
  if (fields.unchecked !== undefined && principal.allowsModel !== anyModel) {
    return new GatewayError(
      'model_not_allowed',
      `"${fields.unchecked}" names blobs or a host, not models: only a credential allowed every model may use it`,
    )
  }
  return undefined
}
