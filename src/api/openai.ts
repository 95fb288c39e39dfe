// The OpenAI-compatible API (and the Anthropic-style messages Ollama also serves), mounted at /v1 and /openai/v1 and
// forwarded to Ollama's own /v1 endpoints. What the gateway changes is only what it must: aliases, the usage chunk a
// client did not ask for, the model list a key may see, and the model name an alias-using client expects back.
import type { HttpRequest } from '../../native/uws.js'
import { normalizeModel } from '../auth/modelAllowList.js'
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/schema.js'
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { JsonTap, type JsonRewrite } from '../proxy/jsonTap.js'
import type { TapFactory } from '../proxy/responseTap.js'
import { SseTap } from '../proxy/sseTap.js'
import { readOpenAiBody } from './openaiBody.js'
import { withValidation } from './readFields.js'
import type { ProxyRouteSpec } from './proxyHandler.js'
import { modelName, type RequestFields } from './requestFields.js'
import type { ProxyRoute } from './routeTable.js'

/**
 * The proxy spec of an OpenAI route (declared in routeTable.ts) at one of its paths: the model route reads its model
 * from the rest of the path there.
 */
export function openAiSpec(
  route: ProxyRoute,
  path: string,
  context: { config: Config; aliases: ModelAliases },
): ProxyRouteSpec {
  const { aliases } = context
  // Read per request: a reload (SIGHUP) may change it.
  const answerWithAlias = () => context.config.models.answer_with_alias
  const spec: ProxyRouteSpec = {
    dialect: route.dialect,
    api: route.api,
    name: route.name,
    access: route.access,
    upstreamPath: route.upstream,
    body: route.body,
    tokens: route.tokens,
  }
  const fields = route.fields
  if (fields.from === 'openai') {
    const read = (raw: Buffer) => readOpenAiBody(raw, fields.body, aliases)
    spec.readFields = withValidation(read, route, () => context.config.validation)
  }
  if (route.tap === 'openai_reply') spec.tap = (read) => generationTap(read, answerWithAlias())
  // A list too large to filter fails closed: no model rather than every model.
  if (route.tap === 'openai_model_list') {
    spec.tap = (_fields, principal) => () =>
      new JsonTap(modelList(principal, aliases), { tooLarge: () => ({ object: 'list', data: [] }) })
  }
  if (fields.from === 'model_path') {
    // The path ends in `*`: the model is what follows the prefix before it.
    const prefix = path.slice(0, -1)
    spec.pathFields = (req) => modelInPath(req, prefix, aliases)
    const [before, after] = route.upstream.split('{model}') as [string, string]
    spec.upstreamPath = (_req, read) => before + encodeURIComponent(read!.models[0]!) + after
  }
  if (route.tap === 'openai_model') spec.tap = (read) => () => new JsonTap(oneModel(read!, answerWithAlias()))
  return spec
}

/** Streams: SSE events (usage read, and removed if the client did not ask); whole replies: the usage object. */
function generationTap(fields: RequestFields | undefined, answerWithAlias: boolean): TapFactory {
  const rename =
    answerWithAlias && fields?.alias !== undefined ? { from: fields.models[0]!, to: fields.alias } : undefined
  return (status, contentType) => {
    if (contentType.startsWith('text/event-stream')) {
      return new SseTap({ stripUsage: fields?.clientWantsUsage === false, rename })
    }
    if (status >= 400) return new JsonTap(completeError)
    return new JsonTap(rename ? (reply) => renamed(reply, rename.to) : undefined)
  }
}

function renamed(reply: any, model: string): unknown {
  if (reply && typeof reply === 'object' && typeof reply.model === 'string') reply.model = model
  return reply
}

/**
 * Ollama's /v1 errors carry `code: null`; OpenAI's clients look for `model_not_found` on a 404 for a model. Anything
 * else passes as Ollama wrote it.
 */
const completeError: JsonRewrite = (reply) => {
  const error = reply?.error
  if (error && typeof error === 'object' && (error.code === null || error.code === undefined)) {
    if (error.type === 'not_found_error' || /not found/i.test(String(error.message))) error.code = 'model_not_found'
  }
  return reply
}

/** GET /models: only what the caller may use, and the aliases of those, named as clients will ask for them. */
function modelList(principal: Principal | undefined, aliases: ModelAliases): JsonRewrite {
  return (reply) => {
    if (!reply || !Array.isArray(reply.data)) return completeError(reply)
    const allowed = reply.data.filter(
      (entry: { id?: unknown }) => typeof entry?.id === 'string' && (!principal || principal.allowsModel(entry.id)),
    )
    const byModel = new Map(allowed.map((entry: { id: string }) => [normalizeModel(entry.id), entry]))
    for (const { alias, model } of aliases.entries) {
      const target = byModel.get(normalizeModel(model))
      if (target) allowed.push({ ...target, id: alias })
    }
    return { ...reply, data: allowed }
  }
}

/** GET /models/{model}: the model as the client named it (an alias), and OpenAI's code when there is none. */
function oneModel(fields: RequestFields, answerWithAlias: boolean): JsonRewrite {
  return (reply) => {
    if (reply?.error) return completeError(reply)
    if (answerWithAlias && fields.alias !== undefined && reply && typeof reply === 'object') reply.id = fields.alias
    return reply
  }
}

/** The model a /models/{model} path names (URL-decoded, slashes allowed), with its alias resolved. */
function modelInPath(req: HttpRequest, prefix: string, aliases: ModelAliases): RequestFields | GatewayError {
  const url = req.getUrl()
  let name: string
  try {
    name = decodeURIComponent(url.slice(prefix.length))
  } catch {
    return new GatewayError('invalid_request', `invalid model name in the path: ${url.slice(prefix.length)}`)
  }
  if (name === '') return new GatewayError('invalid_request', 'name a model: /models/{model}')
  // The rule every model name meets (visible ASCII, bounded), as in a body: before the allow-list, a log or a row.
  const checked = modelName({ kind: 'string', value: name, start: 0, end: 0 }, 'model')
  if (checked instanceof GatewayError) return checked
  const target = aliases.targetOf(name)
  const fields: RequestFields = { models: [target ?? name], stream: false, predict: undefined }
  if (target !== undefined) fields.alias = name
  return fields
}
