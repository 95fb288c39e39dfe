// Stage 3, read fields: only the fields the gateway decides on (the models, streaming, the token limit), read from
// the path or the collected body exactly as Ollama's decoder will read them (requestFields.ts, jsonFields.ts); and,
// once the limits have admitted the request, the body held to what a calendar token quota has left. The route's
// request schema is checked here too (src/validation/), so an invalid request costs no limit and reaches no backend.
import { normalizeModel } from '../auth/modelAllowList.js'
import { GatewayError } from '../errors.js'
import { routeChecks, validateBody, type ValidationSettings } from '../validation/validator.js'
import { applyEdits } from './jsonFields.js'
import type { TokenUse } from './ollama.js'
import { maxTokenEstimate, tokenCapEdits, type RequestFields } from './requestFields.js'
import type { RequestState } from './requestState.js'

/**
 * A route's field reader followed by its schema check (when the route has a schema): the fields are read first, so
 * a body is known to be one JSON object, and the model, streaming and token limit keep their own refusals. The
 * settings are read per request (a reload changes them live). A plugin's rewritten body is read by the same reader,
 * so it is validated again: it is the body the backend will act on (docs/validation.md).
 */
export function withValidation(
  read: (body: Buffer) => RequestFields | GatewayError,
  route: { api: string; name: string },
  settings: () => ValidationSettings,
): (body: Buffer) => RequestFields | GatewayError {
  const checks = routeChecks().get(`${route.api}.${route.name}`)
  if (!checks) return read
  return (body) => {
    const fields = read(body)
    if (fields instanceof GatewayError) return fields
    return validateBody(checks, settings(), body) ?? fields
  }
}

/** Keeps what the fields say on the request's state: the model in its normal form, the bytes that will go upstream. */
export function keepFields(state: RequestState, fields: RequestFields, body: Buffer | null): void {
  state.fields = fields
  // Usage rows and per-model limits count a model by its normal form: `llama3` and `llama3:latest` are one model.
  const named = fields.models[0]
  state.model = named === undefined ? null : normalizeModel(named)
  if (body) {
    state.body = fields.rewritten ?? body
    state.bytesIn = body.length
  }
}

/**
 * Tokens a request reserves against token limits: what it may generate (its own limit, else the configured guess)
 * plus about one token per 4 bytes of prompt; an embedding only its prompt; other routes none. Always a finite integer
 * from 0 to maxTokenEstimate, whatever the request said: the limiter never sees NaN, Infinity or a float that absorbs
 * the settlement.
 */
export function tokenEstimate(
  use: TokenUse,
  fields: RequestFields,
  bodyBytes: number,
  defaultEstimate: number,
): number | undefined {
  if (use === 'none') return undefined
  const prompt = Math.ceil(Math.max(bodyBytes, 0) / 4)
  const generated = use === 'embed' ? 0 : (fields.predict ?? defaultEstimate)
  const estimate = prompt + generated
  // Fail closed: anything that is not a sane integer reserves the most a request can.
  return Number.isSafeInteger(estimate) && estimate >= 0 ? Math.min(estimate, maxTokenEstimate) : maxTokenEstimate
}

/**
 * Under a calendar token quota, the reply may generate at most what the quota has left (less the prompt's estimate):
 * a quota's debt is forgiven when its period ends, so an unlimited reply would take any number. `body` is the client's.
 */
export function capToQuota(state: RequestState, use: TokenUse, body: Buffer): void {
  const left = state.admission?.tokensLeft
  const fields = state.fields
  if (left === undefined || !fields?.tokenField || use !== 'generate') return
  const sent = state.body as Buffer
  const cap = Math.max(1, Math.min(left, maxTokenEstimate) - Math.ceil(sent.length / 4))
  if (fields.predict === undefined || fields.predict > cap) {
    state.body = applyEdits(body, [...(fields.edits ?? []), ...tokenCapEdits(body, fields.tokenField, cap)])
  }
}
