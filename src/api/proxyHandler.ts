// The composition of one proxied route: the uWS handler that runs a request through the stages in their order
// (pipeline.ts) with one RequestState. Everything before the first callback runs synchronously, as uWS requires; a
// stage that refuses answers in the route's dialect and the request goes straight to finish.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { readBody } from '../http/bodyReader.js'
import { streamBody } from '../http/bodyStream.js'
import { ClientReply } from '../http/clientReply.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import { snapshotRequest } from '../http/requestSnapshot.js'
import { refuseHead } from '../http/refuseHead.js'
import { Exchange, type ExchangeRoute, type ForwardDeps } from '../proxy/exchange.js'
import type { TapFactory } from '../proxy/responseTap.js'
import { routeRequest } from '../proxy/route.js'
import type { BodyKind, TokenUse } from './ollama.js'
import type { RequestFields } from './requestFields.js'
import type { Principal } from '../auth/principal.js'
import type { RouteAccess } from '../auth/permissions.js'
import { callerAddressRefusal } from '../auth/callerAddress.js'
import { bodySha256Hex } from '../auth/requestSignature.js'
import { guardAddress } from '../limits/addressGuard.js'
import { admitRequest, chargeRefusal } from '../limits/limitsStage.js'
import type { ProxyStages } from './pipeline.js'
import { capToQuota, keepFields, tokenEstimate } from './readFields.js'
import { RequestState } from './requestState.js'
import { writeAnswer } from '../plugins/answer.js'
import type { Answer } from '../plugins/answerShape.js'
import type { RequestDecision } from '../plugins/requestStage.js'
import { withoutBackend } from '../usage/finish.js'
import type { CacheEntry } from '../cache/cacheEntry.js'
import { replayEntry } from '../cache/replay.js'

export interface ProxyRouteSpec {
  dialect: Dialect
  /** The API the route belongs to, for usage rows, limits and the permission table. */
  api: string
  name: string
  /** The permission the route needs (from the route table). */
  access: RouteAccess
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

export function proxyHandler(spec: ProxyRouteSpec, stages: ProxyStages) {
  const routeFor = (upstreamPath: string): ExchangeRoute => ({
    dialect: spec.dialect,
    api: spec.api,
    name: spec.name,
    upstreamPath,
    usesTokens: spec.tokens !== 'none',
  })
  const routeName = `${spec.api}.${spec.name}`
  const fixedRoute = typeof spec.upstreamPath === 'string' ? routeFor(spec.upstreamPath) : routeFor('')
  const forward: ForwardDeps<RequestState> = {
    ...stages.forward,
    // A request holding a slot fails over only onto a free slot elsewhere (the scheduler's), others to any backend.
    pick: (skip, model, state) =>
      state.grant && stages.moveSlot ? stages.moveSlot(state, skip ?? []) : stages.route(skip, model),
    waitSlot: stages.waitSlot && ((tried, state, go) => stages.waitSlot!(state, tried, go)),
    finish: stages.finish,
  }

  /**
   * Answers a refusal and finishes the request (usage rows count refused requests too). A known caller refused before
   * its admission still spends a request of its limits and gets their headers (chargeRefusal).
   */
  const refuse = (res: HttpResponse, state: RequestState, error: GatewayError, close: boolean): void => {
    const answered = chargeRefusal(stages.limits, state, spec.api, error)
    writeError(res, spec.dialect, state.request.requestId, answered, close, state.startedAt, state.admission?.headers)
    stages.finish(state, undefined, answered)
  }

  /**
   * A signed request whose signature does not hold: answered and finished as a request of nobody's (no key, no user):
   * until its signature holds it is not the key's request, so it touches no limit and no quota rebuilt from usage.
   */
  const refuseUnsigned = (res: HttpResponse, state: RequestState, error: GatewayError, close: boolean): void => {
    state.principal = undefined
    writeError(res, spec.dialect, state.request.requestId, error, close, state.startedAt)
    stages.finish(state, undefined, error)
  }

  /**
   * The signature of a signed request whose body the gateway does not collect: none (GET, HEAD, a route without a
   * body), or a blob streamed on, whose path names its SHA-256 (Ollama refuses a body that does not match it); any other
   * streamed body cannot be checked before it is forwarded, so it is refused.
   */
  const checkUncollected = (secret: Buffer, state: RequestState, streams: boolean): GatewayError | undefined => {
    if (!streams) return stages.signatures.check(secret, state.request, bodySha256Hex(undefined))
    const digest = /\/blobs\/sha256(?::|-|%3[aA])([0-9a-f]{64})$/.exec(state.request.path)?.[1]
    if (digest === undefined) {
      return new GatewayError(
        'signature_invalid',
        "a signed request on this route must name its body's SHA-256 in the path",
      )
    }
    return stages.signatures.check(secret, state.request, digest)
  }

  /**
   * Stages 5 to 9: limits, plugins, [schedule], route, forward. `clientBody`: the collected body as the client sent
   * it; `streamed`: the body streams instead (never collected). Until the exchange exists, `res.onAborted` is
   * registered only where a body was read (the stages before run synchronously; only the plugins may not).
   */
  const proceed = (
    res: HttpResponse,
    state: RequestState,
    estimate: number | undefined,
    clientBody: Buffer | undefined,
    streamed: boolean,
  ): void => {
    const limited = admitRequest(stages.limits, state, spec.api, state.model, estimate)
    if (limited) return refuse(res, state, limited, false)
    if (clientBody) capToQuota(state, spec.tokens, clientBody)
    if (stages.plugins) {
      // 6, plugins: awaited only when a plugin has an onRequest hook for this body (else nothing was made).
      const decision = stages.plugins(state, spec, clientBody, stages.authorize)
      if (decision) return awaitPlugins(res, state, decision, clientBody!)
    }
    forwardTo(res, state, clientBody !== undefined, streamed)
  }

  /** Stages 6½ to 9: cache, schedule (inference routes), route, forward. */
  const forwardTo = (res: HttpResponse, state: RequestState, collected: boolean, streamed: boolean): void => {
    if (stages.cache && collected) {
      // The cache keys the body as it will go upstream (after the plugins' rewrite); a hit needs no backend.
      const entry = stages.cache(state, routeName)
      if (entry) return replayHere(res, state, entry)
    }
    if (stages.schedule && spec.tokens !== 'none' && state.model !== null && collected) {
      return schedule(res, state, stages.schedule)
    }
    const unrouted = routeRequest(stages.route, state)
    if (unrouted) return refuse(res, state, unrouted, true)
    forwardNow(res, state, collected, streamed)
  }

  /**
   * 7, schedule: waits for a slot on a backend that can serve the model (scheduleStage.ts), which is then the route.
   * A request that waits goes asynchronous: its writes go through its ClientReply, a drain waits for it (and past its
   * deadline refuses it), and its client leaving takes it out of the line (clientGone).
   */
  const schedule = (res: HttpResponse, state: RequestState, stage: NonNullable<ProxyStages['schedule']>): void => {
    state.reply ??= new ClientReply(res)
    const waiting = { shutdown: () => state.ticket?.cancel() && refuseHere(state, shuttingDown) }
    state.leaveQueue = () => {
      if (state.ticket?.cancel()) stages.waiting.delete(waiting)
    }
    const inputTokens = Math.ceil((state.body as Buffer).length / 4)
    stage(state, inputTokens, {
      ready: (now) => {
        state.backend = state.grant!.backend
        if (now) return forwardNow(res, state, true, false)
        // Granted from another request's release: go on from a turn of our own (never inside its uWS callback). The
        // drain's watch moves from the line to the exchange in that same turn, so no drain sees neither.
        setImmediate(() => {
          if (!state.ended && !state.reply!.closed) state.reply!.cork(() => forwardNow(res, state, true, false))
          stages.waiting.delete(waiting)
        })
      },
      refused: (error, now) => {
        // A full queue says when to come back (Ollama's own 503 busy gets one too).
        if (error.code === 'queue_full') error = new GatewayError('queue_full', error.message, { 'retry-after': '1' })
        if (now) return refuse(res, state, error, false)
        setImmediate(() => {
          refuseHere(state, error)
          stages.waiting.delete(waiting)
        })
      },
    })
    if (!state.ticket) return
    // A request whose body arrived once the gateway was already stopping does not start waiting: the drain would not
    // see the end of it.
    if (stages.lifecycle.draining && state.ticket.cancel()) return refuse(res, state, shuttingDown, false)
    stages.waiting.add(waiting)
  }

  /** Stages 8 and 9 for a request whose backend is known: the response tap, the exchange. */
  const forwardNow = (res: HttpResponse, state: RequestState, collected: boolean, streamed: boolean): void => {
    state.tapFactory = spec.tap?.(state.fields, state.principal)
    // A cacheable miss: the backend's bytes are kept on their way through the route's tap, for finish to store.
    const capture = state.cache?.capture
    if (capture) state.tapFactory = capture.wrap(state.tapFactory)
    // The plugins made the reply already when they went asynchronous.
    const reply = state.reply ?? new ClientReply(res)
    state.reply = reply
    const exchange = new Exchange(reply, state, forward, streamed ? streamBody(reply) : state.body, state.backend!)
    state.exchange = exchange
    if (!collected) res.onAborted(exchange.onClientAborted)
    exchange.start()
  }

  /**
   * The plugins' onRequest hooks run asynchronously: from here every write goes through the request's ClientReply (the
   * client may leave meanwhile: clientGone finishes the request, and the late decision is dropped).
   */
  const awaitPlugins = (
    res: HttpResponse,
    state: RequestState,
    decision: Promise<RequestDecision>,
    clientBody: Buffer,
  ): void => {
    state.reply = new ClientReply(res)
    // A drain waits for the decision, and past its deadline refuses the request (the late decision is then dropped).
    const waiting = { shutdown: () => !state.ended && !state.reply!.closed && refuseHere(state, shuttingDown) }
    stages.waiting.add(waiting)
    decision
      .finally(() => stages.waiting.delete(waiting))
      .then((made) => {
        if (state.ended || state.reply!.closed) return
        if (made.kind === 'refuse') return refuseHere(state, made.error)
        if (made.kind === 'answer') return answerHere(state, made.answer)
        if (made.fields && !rewritten(state, made.fields, made.body, clientBody.length)) return
        state.reply!.cork(() => forwardTo(res, state, true, false))
      })
      .catch((failure: unknown) => {
        // A bug on our side of the stage (the hooks' own failures are decisions): answered 500 like the handler's.
        stages.logger.error('request handler failed', { request_id: state.request.requestId, err: failure })
        refuseHere(state, new GatewayError('internal_error'))
      })
  }

  /**
   * Takes a plugin's rewritten body (read again with the route's reader, the allow-list passed on what it read): its
   * model is admitted again when it changed (under that model's limits), and the quota's token cap applies to it.
   * False when the limits refused the new model (answered).
   */
  const rewritten = (state: RequestState, fields: RequestFields, body: Buffer, bytesIn: number): boolean => {
    const before = state.model
    keepFields(state, fields, body)
    state.bytesIn = bytesIn
    if (state.model !== before) {
      state.admission?.release(0)
      state.admission = undefined
      const estimate = tokenEstimate(
        spec.tokens,
        fields,
        (state.body as Buffer).length,
        stages.config.current.limits.default_token_estimate,
      )
      const limited = admitRequest(stages.limits, state, spec.api, state.model, estimate)
      if (limited) {
        refuseHere(state, limited)
        return false
      }
    }
    capToQuota(state, spec.tokens, body)
    return true
  }

  /** Answers a refusal made after the limits admitted the request (no backend saw it: finish releases with 0). */
  const refuseHere = (state: RequestState, error: GatewayError): void => {
    const { requestId } = state.request
    state.reply!.endWith((res) =>
      writeError(res, spec.dialect, requestId, error, false, state.startedAt, state.admission?.headers),
    )
    stages.finish(state, withoutBackend(error.status, 0, false), error)
  }

  /** A cache hit: replayed through the route's tap made for this request, finished without a backend. */
  const replayHere = (res: HttpResponse, state: RequestState, entry: CacheEntry): void => {
    state.tapFactory = spec.tap?.(state.fields, state.principal)
    const reply = state.reply ?? new ClientReply(res)
    state.reply = reply
    const ticket = state.cache!
    const outcome = replayEntry(reply, state, entry, forward, Date.now(), ticket.countsTokens)
    stages.finish(state, outcome, undefined)
  }

  /** A plugin's own answer, no backend: finished with what went out once it is all written (or its client left). */
  const answerHere = async (state: RequestState, answer: Answer): Promise<void> => {
    const reply = state.reply!
    const headers = state.admission?.headers
    const written = await writeAnswer(reply, answer, state.request.requestId, headers, state.plugins!)
    const failed = written.failure === undefined ? undefined : new GatewayError('plugin_error')
    stages.finish(state, withoutBackend(answer.status, written.bytesOut, reply.aborted), failed)
  }

  const handle = (res: HttpResponse, req: HttpRequest, state: RequestState): void => {
    const { request } = state
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
    if (request.refusal) {
      // A head that reads two ways (framing, credential): answered and closed, the body never read (docs/http.md).
      refuseHead(res, spec.dialect, request.requestId, request.refusal, state.startedAt)
      return stages.finish(state, undefined, request.refusal)
    }
    if (stages.lifecycle.draining) {
      writeError(res, spec.dialect, request.requestId, shuttingDown, true, state.startedAt)
      return stages.finish(state, undefined, shuttingDown)
    }
    // 1, the address guard.
    const byAddress = guardAddress(stages.addressGuard, state, spec.api)
    if (byAddress) return refuse(res, state, byAddress, hasBody)
    // 2, authenticate (with the route's permission).
    const principal = stages.authenticate(spec.access, request.credential)
    if (principal instanceof GatewayError) return refuse(res, state, principal, hasBody)
    // The credential's own address allow-lists: refused before it is the request's principal, so nothing is charged.
    const elsewhere = principal && callerAddressRefusal(principal, request.clientIp)
    if (elsewhere) return refuse(res, state, elsewhere, hasBody)
    state.principal = principal
    // A signed key's request whose body is not collected: its signature now (a blob's body hash is its digest).
    const secret = principal?.signingSecret
    const collects = hasBody && spec.body !== 'none' && spec.body !== 'stream' && spec.readFields !== undefined
    if (secret && !collects) {
      const unsigned = checkUncollected(secret, state, hasBody && spec.body !== 'none')
      if (unsigned) return refuseUnsigned(res, state, unsigned, hasBody)
    }
    // 3, read fields: those the path gives, now (req is gone after this handler returns).
    const pathFields = spec.pathFields?.(req)
    if (pathFields instanceof GatewayError) return refuse(res, state, pathFields, hasBody)
    if (pathFields) {
      keepFields(state, pathFields, null)
      // 4, authorize.
      const refusal = stages.authorize(principal, pathFields)
      if (refusal) return refuse(res, state, refusal, hasBody)
    }
    if (typeof spec.upstreamPath !== 'string') {
      const path = spec.upstreamPath(req, pathFields)
      if (path instanceof GatewayError) return refuse(res, state, path, true)
      state.route = routeFor(path)
    }
    if (!hasBody || spec.body === 'none') return proceed(res, state, undefined, undefined, false)
    if (spec.body === 'stream' || !spec.readFields) return proceed(res, state, undefined, undefined, true)
    // 3, read fields: the body, collected up to its cap.
    res.onAborted(() => clientGone(state))
    const read = spec.readFields
    readBody(res, request.contentLength, stages.config.current.limits.max_body_bytes, (error, body) => {
      if (state.ended || state.reply?.closed) return
      try {
        // A signed key's request: its signature over the body as the client sent it, before anything reads it.
        const unsigned = secret && !error ? stages.signatures.check(secret, request, bodySha256Hex(body)) : undefined
        if (unsigned) {
          res.cork(() => refuseUnsigned(res, state, unsigned, false))
          return
        }
        const fields = error ?? stages.readFields(read, body)
        if (!(fields instanceof GatewayError)) keepFields(state, fields, body)
        // 4, authorize.
        const refusal = fields instanceof GatewayError ? fields : stages.authorize(state.principal, fields)
        // Past the size cap the rest of the body is unread: close the connection after answering.
        if (refusal) {
          res.cork(() => refuse(res, state, refusal, refusal.code === 'body_too_large'))
          return
        }
        const sent = state.body as Buffer
        const estimate = tokenEstimate(
          spec.tokens,
          fields as RequestFields,
          sent.length,
          stages.config.current.limits.default_token_estimate,
        )
        res.cork(() => proceed(res, state, estimate, body, false))
      } catch (failure) {
        internalError(res, spec, state, failure, stages)
      }
    })
  }

  /**
   * The client left. Once forwarded, the exchange cancels the upstream request (and finishes); before that (gone while
   * its body was still coming, or while the plugins ran), nothing went upstream: the request finishes here, as left by
   * its client, and a plugin's late decision is dropped.
   */
  const clientGone = (state: RequestState): void => {
    if (state.exchange) return state.exchange.onClientAborted()
    // Gone while waiting for a slot: out of the line at once, never sent (a slot granted meanwhile goes back in finish).
    state.leaveQueue?.()
    // Gone while the plugins ran: nothing may touch `res` any more; a plugin's answer being written ends it.
    state.reply?.markAborted()
    if (state.plugins?.answering) return state.plugins.answering()
    // Nothing went upstream: no token was used (the limits get back what they reserved).
    if (!state.ended) stages.finish(state, withoutBackend(0, 0, true), undefined)
  }

  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now()
    const request = snapshotRequest(req, res, req.getUrl(), stages.trustedProxies())
    const state = new RequestState(request, fixedRoute, startedAt)
    try {
      handle(res, req, state)
    } catch (error) {
      internalError(res, spec, state, error, stages)
    }
  }
}

/**
 * A bug in a handler: logged with its stack and the request id, answered 500 in the route's dialect (unless an answer
 * already went out), finished like any refused request. The process and the next request go on.
 */
function internalError(
  res: HttpResponse,
  spec: ProxyRouteSpec,
  state: RequestState,
  error: unknown,
  stages: ProxyStages,
): void {
  stages.logger.error('request handler failed', { request_id: state.request.requestId, route: spec.name, err: error })
  const failure = new GatewayError('internal_error')
  const write = (res: HttpResponse) =>
    writeError(res, spec.dialect, state.request.requestId, failure, true, state.startedAt)
  try {
    // Once the request has its ClientReply (it went asynchronous), every write goes through it.
    if (state.reply) state.reply.endWith(write)
    else res.cork(() => write(res))
  } catch {
    // The response was already ended or the client is gone: nothing more to say.
  }
  stages.finish(state, undefined, failure)
}
