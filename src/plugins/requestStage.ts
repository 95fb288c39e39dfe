// The onRequest stage: runs each plugin's hook in config order, bounded by its timeout, and turns what it returns into
// one decision for the route handler. A rewritten body is read again with the route's own fields reader (the one that
// reads as Ollama's Go decoder does) and the caller's allow-list decides again on what that reader found, so the
// gateway decides on exactly the bytes the backend gets and a plugin cannot widen what a credential may use.
import { GatewayError, PluginRefusal } from '../errors.js'
import type { Principal } from '../auth/principal.js'
import type { RequestFields } from '../api/requestFields.js'
import { applyEdits, readJsonFields } from '../api/jsonFields.js'
import type { AuthorizeStage } from '../auth/authorize.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { LoadedPlugin, PluginChain, RequestPlugins } from './chain.js'
import type { PluginCaller, PluginRequest, RequestAction } from './plugin.js'
import { checkedHeaders, type Answer, checkedAnswer } from './answerShape.js'

/** What onRequest reads of a request's state (RequestState): who calls, what it asks for, on which route. */
export interface PluginRequestInput {
  readonly request: RequestSnapshot
  readonly route: { readonly api: string; readonly name: string }
  readonly principal: Principal | undefined
  /** The model the request runs (normal form). */
  readonly model: string | null
  readonly fields: RequestFields | undefined
}

export type RequestDecision =
  /** Go on with this body (the client's, or a plugin's, read again into `fields`) and this model. */
  | { kind: 'go'; body: Buffer; fields: RequestFields | undefined; model: string | null }
  | { kind: 'refuse'; error: GatewayError }
  | { kind: 'answer'; answer: Answer }

const codePattern = /^[a-z][a-z0-9_.-]{0,63}$/

/**
 * Runs the chain's onRequest hooks for one request on `body` (as the client sent it); `readFields` is the route's own
 * reader, `authorize` the caller's model allow-list, `normalize` the model's normal form (what usage rows and limits
 * count by). `view` collects the response headers they add.
 */
export async function runRequestHooks(
  chain: PluginChain,
  input: PluginRequestInput,
  readFields: (body: Buffer) => RequestFields | GatewayError,
  clientBody: Buffer,
  authorize: AuthorizeStage,
  normalize: (model: string) => string,
  view: RequestPlugins,
): Promise<RequestDecision> {
  const requestId = input.request.requestId
  let body = clientBody
  let fields: RequestFields | undefined
  let model = input.model
  let parsed: { from: Buffer; value: unknown } | undefined
  const caller = callerOf(input.principal)
  for (const entry of chain.requestHooks) {
    const current = body
    const request: PluginRequest = {
      api: input.route.api,
      route: input.route.name,
      method: input.request.method,
      path: input.request.path,
      requestId,
      caller,
      model,
      stream: (fields ?? input.fields)?.stream ?? false,
      body,
      json: () => {
        // Parsed once per body, and only for a plugin that asks.
        if (parsed?.from !== current) parsed = { from: current, value: JSON.parse(current.toString('utf8')) }
        return parsed.value
      },
    }
    let action: RequestAction | undefined | void
    try {
      action = await called(entry, request, chain)
    } catch (error) {
      return { kind: 'refuse', error: failed(chain, entry, requestId, error) }
    }
    if (action === undefined || action === null) continue
    const made = apply(action, body, input.route.name, view)
    if (made instanceof Error) return { kind: 'refuse', error: failed(chain, entry, requestId, made) }
    if (made.kind === 'refuse') {
      chain.stats.refusals++
      return made
    }
    if (made.kind === 'answer') {
      chain.stats.answers++
      return made
    }
    if (made.body === body) continue
    chain.stats.rewrites++
    // Read as the backend will read it; the allow-list decides on that. A body the reader refuses is the plugin's
    // fault (the client's was fine): a plugin_error naming why. A model the caller may not use is the caller's 403.
    const read = readFields(made.body)
    if (read instanceof GatewayError) {
      return {
        kind: 'refuse',
        error: failed(chain, entry, requestId, new Error(`its rewritten body is refused: ${read.message}`)),
      }
    }
    const refusal = authorize(input.principal, read)
    if (refusal) {
      chain.stats.refusals++
      return { kind: 'refuse', error: refusal }
    }
    body = made.body
    fields = read
    model = read.models[0] === undefined ? null : normalize(read.models[0])
  }
  return { kind: 'go', body, fields, model }
}

/** Calls one hook, bounded by the plugin's timeout (a sync return costs no timer). */
function called(entry: LoadedPlugin, request: PluginRequest, chain: PluginChain): Promise<RequestAction | undefined> {
  const returned = entry.plugin.onRequest!(request)
  if (!returned || typeof (returned as Promise<unknown>).then !== 'function') {
    return Promise.resolve(returned as RequestAction | undefined)
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      chain.stats.timeouts++
      reject(new PluginTimeout(`did not answer within ${entry.timeoutMs} ms`))
    }, entry.timeoutMs)
    ;(returned as Promise<RequestAction | undefined>).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(`rejected with ${String(error)}`))
      },
    )
  })
}

class PluginTimeout extends Error {}

/** A hook's failure: logged with the plugin's name and the request id, counted, answered 500 plugin_error. */
function failed(chain: PluginChain, entry: LoadedPlugin, requestId: string, error: unknown): GatewayError {
  const timeout = error instanceof PluginTimeout
  if (!timeout) chain.stats.failures++
  chain.logger.error(timeout ? 'plugin timed out' : 'plugin failed', {
    plugin: entry.name,
    hook: 'onRequest',
    request_id: requestId,
    err: error,
  })
  const why = error instanceof PluginTimeout ? error.message : 'failed (see the gateway log)'
  return new GatewayError('plugin_error', `plugin "${entry.name}" ${why}`)
}

type Applied =
  { kind: 'go'; body: Buffer } | { kind: 'refuse'; error: GatewayError } | { kind: 'answer'; answer: Answer } | Error

/** What one action does; an Error when the plugin returned something the gateway cannot use. */
function apply(action: RequestAction, body: Buffer, route: string, view: RequestPlugins): Applied {
  if (typeof action !== 'object') return new Error(`onRequest returned ${typeof action}, not an action object`)
  if ('headers' in action && action.headers !== undefined) {
    const headers = checkedHeaders(action.headers)
    if (headers instanceof Error) return headers
    view.headers = view.headers ? [...view.headers, ...headers] : headers
  }
  if ('refuse' in action) return refusal(action.refuse)
  if ('answer' in action) {
    const answer = checkedAnswer(action.answer)
    return answer instanceof Error ? answer : { kind: 'answer', answer }
  }
  if ('rewrite' in action) {
    const { rewrite } = action
    if (!rewrite || typeof rewrite !== 'object') return new Error('rewrite must be an object')
    let next = body
    if (rewrite.body !== undefined) {
      const made = bodyOf(rewrite.body)
      if (made instanceof Error) return made
      next = made
    }
    if (rewrite.model !== undefined) {
      if (typeof rewrite.model !== 'string') return new Error('rewrite.model must be a string')
      const set = withModel(next, rewrite.model)
      if (set instanceof Error) return set
      next = set
    }
    return { kind: 'go', body: next }
  }
  if ('headers' in action) return { kind: 'go', body }
  return new Error(`onRequest returned an object with none of rewrite, refuse, answer, headers (${route})`)
}

function refusal(refuse: unknown): Applied {
  const { status, code, message } = (refuse ?? {}) as { status?: unknown; code?: unknown; message?: unknown }
  if (!Number.isInteger(status) || (status as number) < 400 || (status as number) > 499) {
    return new Error('refuse.status must be an integer from 400 to 499')
  }
  if (typeof code !== 'string' || !codePattern.test(code)) {
    return new Error('refuse.code must be 1-64 of [a-z0-9_.-], starting with a letter')
  }
  if (typeof message !== 'string' || message.length > 1000) return new Error('refuse.message must be a string ≤ 1000')
  return { kind: 'refuse', error: new PluginRefusal(status as number, code, message) }
}

function bodyOf(value: Buffer | string | object): Buffer | Error {
  if (Buffer.isBuffer(value)) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (value instanceof Uint8Array) return Buffer.from(value)
  try {
    return Buffer.from(JSON.stringify(value), 'utf8')
  } catch (error) {
    return new Error(`rewrite.body cannot be serialised: ${(error as Error).message}`)
  }
}

/** The body with its top-level `model` set (replaced in place, or added first): the rest of the bytes unchanged. */
function withModel(body: Buffer, model: string): Buffer | Error {
  const found = readJsonFields(body, { fields: [{ name: 'model', type: 'string' }], folds: true })
  if (found instanceof GatewayError) return new Error(`cannot set the model of this body: ${found.message}`)
  const value = JSON.stringify(model)
  const field = found[0]
  if (field) return applyEdits(body, [{ start: field.start, end: field.end, text: value }])
  const top = body.indexOf(0x7b) + 1
  const empty = /^\s*}/.test(body.subarray(top, top + 64).toString('latin1'))
  return applyEdits(body, [{ start: top, end: top, text: `"model":${value}${empty ? '' : ','}` }])
}

function callerOf(principal: Principal | undefined): PluginCaller | undefined {
  if (!principal) return undefined
  return { userId: principal.userId, username: principal.username, role: principal.role, keyId: principal.keyId }
}
