// The native Ollama API: the proxy spec of each of its routes (declared in routeTable.ts), mounted at /api (a drop-in
// for OLLAMA_HOST) and at /ollama/v1 (the prefixed form, with or without the /api segment that host-based clients
// append).
import type { HttpRequest } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { nativeModelListTap } from '../proxy/nativeModelList.js'
import { NativeUsageTap, type TapFactory } from '../proxy/responseTap.js'
import type { Config } from '../config/schema.js'
import { readOllamaBody } from './ollamaBody.js'
import { withValidation } from './readFields.js'
import type { ProxyRouteSpec } from './proxyHandler.js'
import type { ProxyRoute } from './routeTable.js'

export type { BodyKind, TokenUse } from './routeTable.js'

const blobDigest = /^sha256[:-][0-9a-f]{64}$/

const nativeTap = (): TapFactory => () => new NativeUsageTap()

/** The proxy spec of a native route (the same at every mount). */
export function ollamaSpec(route: ProxyRoute, context: { aliases: ModelAliases; config: Config }): ProxyRouteSpec {
  const { fields } = route
  const spec: ProxyRouteSpec = {
    dialect: route.dialect,
    api: route.api,
    name: route.name,
    access: route.access,
    upstreamPath: route.upstream.includes('{digest}') ? blobPath : route.upstream,
    body: route.body,
    tokens: route.tokens,
  }
  if (fields.from === 'ollama') {
    // Aliases stand for models on the routes that run one; managing models by an alias name would mislead.
    const aliases = route.tokens === 'none' ? undefined : context.aliases
    const read = (body: Buffer) => readOllamaBody(body, fields.required, aliases)
    spec.readFields = withValidation(read, route, () => context.config.validation)
  }
  if (route.tap === 'native_usage') spec.tap = nativeTap
  // The model lists show only what the credential may use (and the aliases of that), as /v1/models does.
  if (route.tap === 'native_model_list') {
    spec.tap = (_fields, principal) => nativeModelListTap(principal, context.aliases)
  }
  return spec
}

function blobPath(req: HttpRequest): string | GatewayError {
  const digest = req.getParameter(0)
  if (!blobDigest.test(digest)) {
    return new GatewayError('invalid_request', `invalid digest "${digest}": expected sha256:<64 hex digits>`)
  }
  return `/api/blobs/${digest}`
}
