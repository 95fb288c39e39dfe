// The plugin stage as a route handler runs it: the onRequest hooks, then one of three endings — go on to the backend
// (the handler's own code, given the body and fields to send), a refusal in the route's dialect, or a plugin's answer.
// A refused or answered request frees its limits (nothing reached a backend: no token used) and leaves its usage row.
import type { RequestFields } from '../api/requestFields.js'
import { normalizeModel } from '../auth/modelAllowList.js'
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { Exchange, ExchangeEnd, ExchangeResult } from '../proxy/exchange.js'
import { answeredResult, writeAnswer, type AnswerOutcome } from './answer.js'
import type { Answer } from './answerShape.js'
import type { PluginChain } from './chain.js'
import { runRequestHooks } from './requestStage.js'

export interface PluginStageSetup {
  chain: PluginChain
  exchange: Exchange
  request: RequestSnapshot
  spec: {
    api: string
    name: string
    dialect: Dialect
    readFields?: (body: Buffer) => RequestFields | GatewayError
  }
  principal: Principal | undefined
  model: string | null
  fields: RequestFields
  body: Buffer
  startedAt: number
  allowed: (fields: RequestFields) => GatewayError | undefined
  onEnd: ExchangeEnd | undefined
  /** Takes the request over for an ending (false: the client already left, and the handler recorded it). */
  claim: () => boolean
  /** Goes on to the backend with these fields, body and model. */
  go: (fields: RequestFields, body: Buffer, model: string | null) => void
}

export function pluginStage(setup: PluginStageSetup): void {
  const { chain, exchange, request, spec } = setup
  const view = exchange.plugins!
  runRequestHooks(
    chain,
    {
      api: spec.api,
      route: spec.name,
      method: request.method,
      path: request.path,
      requestId: request.requestId,
      principal: setup.principal,
      model: setup.model,
      stream: setup.fields.stream,
      body: setup.body,
      readFields: spec.readFields!,
      allowed: setup.allowed,
      normalize: normalizeModel,
    },
    view,
  )
    .then(async (decision) => {
      if (!setup.claim()) return
      if (decision.kind === 'go') return setup.go(decision.fields ?? setup.fields, decision.body, decision.model)
      if (decision.kind === 'refuse') return refuse(setup, decision.error)
      await answer(setup, decision.answer)
    })
    .catch((error: unknown) => {
      // A bug on our side of the stage (the hooks' own failures are decisions): answered 500, like the handler's.
      chain.logger.error('request handler failed', { request_id: request.requestId, route: spec.name, err: error })
      refuse(setup, new GatewayError('internal_error'))
    })
}

/** Ends the request with `error` in the route's dialect (once: nothing if an answer already went out). */
function refuse(setup: PluginStageSetup, error: GatewayError): void {
  const { exchange, request, spec } = setup
  const written = exchange.reply.endWith((res) =>
    writeError(res, spec.dialect, request.requestId, error, false, setup.startedAt, exchange.admission?.headers),
  )
  if (!written) return
  release(exchange)
  const result = answeredResult(request, spec, setup.principal, setup.model, error.status, setup.startedAt, {
    bytesIn: exchange.bytesIn,
    bytesOut: 0,
    errorCode: error.code,
    clientAborted: false,
  })
  end(setup, result)
}

async function answer(setup: PluginStageSetup, answer: Answer): Promise<void> {
  const { exchange, request, spec, chain } = setup
  const outcome: AnswerOutcome = await writeAnswer(
    exchange.reply,
    answer,
    request.requestId,
    exchange.admission?.headers,
    exchange.plugins!,
  )
  if (outcome.failure !== undefined) {
    chain.stats.failures++
    chain.logger.error('plugin answer failed', { request_id: request.requestId, err: outcome.failure })
  }
  release(exchange)
  const result = answeredResult(request, spec, setup.principal, setup.model, answer.status, setup.startedAt, {
    bytesIn: exchange.bytesIn,
    bytesOut: outcome.bytesOut,
    errorCode: outcome.failure === undefined ? undefined : 'plugin_error',
    clientAborted: exchange.reply.aborted,
  })
  end(setup, result)
}

/** No backend ran: the limits get back every token they reserved, and the address guard its slot. */
function release(exchange: Exchange): void {
  exchange.admission?.release(0)
  exchange.addressAdmission?.release(undefined)
}

function end(setup: PluginStageSetup, result: ExchangeResult): void {
  setup.onEnd?.(result)
  setup.exchange.plugins!.end(result)
}
