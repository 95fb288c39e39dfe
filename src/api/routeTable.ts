// The one route table: every route of every API declared once — its name, methods, paths (every mount), the
// permission it needs, and for proxied routes how its body is read, what tokens it spends, where it goes upstream and
// what the gateway taps in its reply. The permission table, the usage rows' token routes, the 404/405 answers and the
// route list in docs/auth.md are derived from it. Read at mount time only: nothing here runs per request.
// Pure data (no handlers imported), so that any room can read the facts without pulling in the API itself.
import type { Permission, RouteAccess } from '../auth/permissions.js'
import type { Dialect } from '../http/errorResponse.js'
import { authAliasDeprecatedAt, authAliasSunsetAt } from './apiVersions.js'
import type { RouteGuard } from './jsonRoute.js'
import type { RequiredFields } from './ollamaBody.js'
import type { OpenAiBody } from './openaiBody.js'
import { complianceDoc } from './admin/complianceSchemas.js'
import { cachePurgeDoc, cacheStatsDoc } from './admin/cacheSchemas.js'
import { auditListDoc, auditVerifyDoc } from './admin/auditSchemas.js'
import * as keys from './admin/keysSchemas.js'
import * as limits from './admin/limitsSchemas.js'
import { modelRouteDocs as models } from './admin/modelsSchemas.js'
import { openApiDoc } from './admin/openApiSchemas.js'
import * as users from './admin/usersSchemas.js'
import * as webhooks from './admin/webhooksSchemas.js'
import { overviewDoc, queueDoc, usageDoc, usageRequestsDoc } from './admin/usageSchemas.js'
import type { RouteDoc } from './routeDoc.js'

export type Api = 'ollama' | 'openai' | 'auth' | 'admin' | 'system'
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type BodyKind = 'none' | 'json' | 'stream'
/** How the route spends model tokens: generating (prompt + reply), embedding (prompt only), or not at all. */
export type TokenUse = 'generate' | 'embed' | 'none'

/** How a proxied request's fields (the models it names, streaming, its token limit) are read. */
export type FieldsReader =
  | { from: 'none' }
  | { from: 'ollama'; required: RequiredFields }
  | { from: 'openai'; body: OpenAiBody }
  /** GET /v1/models/{model}: the model is the rest of the path. */
  | { from: 'model_path' }

/** What the gateway reads or changes in a proxied reply. */
export type ResponseTap =
  | 'none'
  /** Token counts from the final NDJSON object. */
  | 'native_usage'
  /** /api/tags, /api/ps: only the models the credential may use, and their aliases. */
  | 'native_model_list'
  /** SSE or JSON: usage read (the unasked usage chunk removed), the alias named back, OpenAI's 404 code. */
  | 'openai_reply'
  | 'openai_model_list'
  | 'openai_model'

interface RouteCommon {
  api: Api
  /** Unique within its API; `<api>.<name>` names the route in usage rows, logs and the permission table. */
  name: string
  methods: readonly Method[]
  /** Every path the route answers on, the canonical one first. `:param` is one segment, a final `*` the rest. */
  paths: readonly string[]
  /**
   * Older paths that answer the same, with Deprecation, Sunset and a Link to the successor (docs/api-versioning.md);
   * each is the canonical path with another prefix. `at` and `sunset` are epoch milliseconds.
   */
  deprecated?: { paths: readonly string[]; at: number; sunset: number }
  access: RouteAccess
  /** The error shape of the route's API. */
  dialect: Dialect
}

/** A route forwarded to a backend. */
export interface ProxyRoute extends RouteCommon {
  kind: 'proxy'
  body: BodyKind
  tokens: TokenUse
  /** The upstream path; `{digest}` and `{model}` are filled in from the request path. */
  upstream: string
  fields: FieldsReader
  tap: ResponseTap
}

/** A route the gateway answers itself with JSON (auth, admin, system). */
export interface LocalRoute extends RouteCommon {
  kind: 'local'
  /** `probe` (/health, /ready) skips the address guard and limits (jsonRoute.ts). */
  guard: RouteGuard
  /** What the route takes and answers: the OpenAPI document and the tests' shape checks are made from it. */
  doc?: RouteDoc
  /** The body is an upload, streamed to the handler as it comes (POST /v1/files), not collected as JSON. */
  upload?: boolean
}

export type Route = ProxyRoute | LocalRoute

/** Where the native API is mounted: a drop-in for OLLAMA_HOST, and the prefixed form with or without `/api`. */
export const ollamaMounts = ['/api', '/ollama/v1/api', '/ollama/v1'] as const
export const openAiMounts = ['/v1', '/openai/v1'] as const
/** The /auth API's current version; the unversioned prefix is its deprecated alias. */
export const authMount = '/auth/v1'
export const authAliasMount = '/auth'
export const adminMount = '/admin/v1'

/** Where each API's unknown paths are answered 404 in its dialect (and counted against its address rules); '' is the rest. */
export const apiPrefixes: readonly { prefix: string; api: Api; dialect: Dialect }[] = [
  { prefix: '/openai/v1', api: 'openai', dialect: 'openai' },
  { prefix: '/admin', api: 'admin', dialect: 'problem' },
  { prefix: '/auth', api: 'auth', dialect: 'problem' },
  { prefix: '/v1', api: 'openai', dialect: 'openai' },
  { prefix: '', api: 'ollama', dialect: 'ollama' },
]

interface ProxyOptions {
  upstream?: string
  body?: BodyKind
  tokens?: TokenUse
  fields?: FieldsReader
  tap?: ResponseTap
}

function ollama(name: string, methods: Method[], path: string, access: Permission, options: ProxyOptions = {}) {
  return proxy(
    'ollama',
    'ollama',
    name,
    methods,
    [...ollamaMounts].map((mount) => mount + path),
    access,
    {
      upstream: `/api${path.replace(':digest', '{digest}')}`,
      ...options,
    },
  )
}

function openAi(name: string, path: string, access: Permission, options: ProxyOptions & { dialect?: Dialect } = {}) {
  const method: Method = options.body === 'json' ? 'POST' : 'GET'
  const paths = [...openAiMounts].map((mount) => mount + path)
  return proxy('openai', options.dialect ?? 'openai', name, [method], paths, access, {
    upstream: `/v1${path}`,
    ...options,
  })
}

function proxy(
  api: Api,
  dialect: Dialect,
  name: string,
  methods: Method[],
  paths: string[],
  access: RouteAccess,
  options: ProxyOptions & { upstream: string },
): ProxyRoute {
  return {
    kind: 'proxy',
    api,
    name,
    methods,
    paths,
    access,
    dialect,
    body: options.body ?? 'none',
    tokens: options.tokens ?? 'none',
    upstream: options.upstream,
    fields: options.fields ?? { from: 'none' },
    tap: options.tap ?? 'none',
  }
}

/** A JSON body the gateway reads for the request struct Ollama decodes it into (ollamaBody.ts). */
const native = (required: RequiredFields): ProxyOptions => ({ body: 'json', fields: { from: 'ollama', required } })
const openAiBody = (body: OpenAiBody): ProxyOptions => ({
  body: 'json',
  fields: { from: 'openai', body },
  tap: 'openai_reply',
})

function local(
  api: 'auth' | 'admin' | 'system',
  name: string,
  method: Method,
  path: string,
  access: RouteAccess,
  doc?: RouteDoc,
  guard: RouteGuard = 'limited',
): LocalRoute {
  const mount = api === 'auth' ? authMount : api === 'admin' ? adminMount : ''
  return {
    kind: 'local',
    api,
    name,
    // HEAD wherever GET (RFC 9110 §9.3.2): the same answer's head, no body.
    methods: method === 'GET' ? ['GET', 'HEAD'] : [method],
    paths: [mount + path],
    deprecated:
      api === 'auth'
        ? { paths: [authAliasMount + path], at: authAliasDeprecatedAt, sunset: authAliasSunsetAt }
        : undefined,
    access,
    dialect: 'problem',
    guard,
    doc,
  }
}

/** OpenAI's own objects the gateway keeps (files, batches): answered here at every OpenAI mount, in its dialect. */
function openAiLocal(name: string, method: Method, path: string, access: RouteAccess, upload = false): LocalRoute {
  return {
    kind: 'local',
    api: 'openai',
    name,
    methods: method === 'GET' ? ['GET', 'HEAD'] : [method],
    paths: [...openAiMounts].map((mount) => mount + path),
    access,
    dialect: 'openai',
    guard: 'limited',
    upload,
  }
}

export const routeTable: readonly Route[] = [
  proxy('ollama', 'ollama', 'root', ['GET', 'HEAD'], ['/', '/ollama/v1', '/ollama/v1/'], 'public', { upstream: '/' }),
  ollama('version', ['GET', 'HEAD'], '/version', 'list_models'),
  ollama('generate', ['POST'], '/generate', 'use_ollama', {
    ...native('generate'),
    tokens: 'generate',
    tap: 'native_usage',
  }),
  ollama('chat', ['POST'], '/chat', 'use_ollama', { ...native('generate'), tokens: 'generate', tap: 'native_usage' }),
  ollama('embed', ['POST'], '/embed', 'use_ollama', { ...native('embed'), tokens: 'embed', tap: 'native_usage' }),
  ollama('embeddings', ['POST'], '/embeddings', 'use_ollama', { ...native('embed'), tokens: 'embed' }),
  ollama('tags', ['GET', 'HEAD'], '/tags', 'list_models', { tap: 'native_model_list' }),
  ollama('ps', ['GET', 'HEAD'], '/ps', 'list_models', { tap: 'native_model_list' }),
  ollama('show', ['POST'], '/show', 'list_models', native('named')),
  ollama('pull', ['POST'], '/pull', 'manage_models', native('transfer')),
  ollama('push', ['POST'], '/push', 'manage_models', native('transfer')),
  ollama('create', ['POST'], '/create', 'manage_models', native('create')),
  ollama('copy', ['POST'], '/copy', 'manage_models', native('copy')),
  ollama('delete', ['DELETE'], '/delete', 'manage_models', native('named')),
  ollama('blobs', ['HEAD', 'POST'], '/blobs/:digest', 'manage_models', { body: 'stream' }),

  openAi('chat_completions', '/chat/completions', 'use_openai', { ...openAiBody('completions'), tokens: 'generate' }),
  openAi('completions', '/completions', 'use_openai', { ...openAiBody('completions'), tokens: 'generate' }),
  openAi('embeddings', '/embeddings', 'use_openai', { ...openAiBody('embeddings'), tokens: 'embed' }),
  openAi('responses', '/responses', 'use_openai', { ...openAiBody('responses'), tokens: 'generate' }),
  openAi('messages', '/messages', 'use_openai', {
    ...openAiBody('messages'),
    tokens: 'generate',
    dialect: 'anthropic',
  }),
  openAi('models', '/models', 'list_models', { tap: 'openai_model_list' }),
  openAi('model', '/models/*', 'list_models', {
    upstream: '/v1/models/{model}',
    fields: { from: 'model_path' },
    tap: 'openai_model',
  }),

  // The Batch API (docs/batches.md): a user's own files and batches; admins see everyone's (the handlers narrow).
  openAiLocal('files_create', 'POST', '/files', 'use_openai', true),
  openAiLocal('files_list', 'GET', '/files', 'use_openai'),
  openAiLocal('files_get', 'GET', '/files/:id', 'use_openai'),
  openAiLocal('files_delete', 'DELETE', '/files/:id', 'use_openai'),
  openAiLocal('files_content', 'GET', '/files/:id/content', 'use_openai'),
  openAiLocal('batches_create', 'POST', '/batches', 'use_openai'),
  openAiLocal('batches_list', 'GET', '/batches', 'use_openai'),
  openAiLocal('batches_get', 'GET', '/batches/:id', 'use_openai'),
  openAiLocal('batches_cancel', 'POST', '/batches/:id/cancel', 'use_openai'),

  local('auth', 'login', 'POST', '/login', 'public'),
  local('auth', 'refresh', 'POST', '/refresh', 'public'),
  local('auth', 'logout', 'POST', '/logout', 'public'),
  local('auth', 'me', 'GET', '/me', 'authenticated'),
  local('auth', 'keys_list', 'GET', '/keys', 'manage_own_keys'),
  local('auth', 'keys_create', 'POST', '/keys', 'manage_own_keys'),
  local('auth', 'keys_revoke', 'DELETE', '/keys/:id', 'manage_own_keys'),
  local('auth', 'oidc_status', 'GET', '/oidc', 'public'),
  local('auth', 'oidc_login', 'GET', '/oidc/login', 'public'),
  local('auth', 'oidc_callback', 'GET', '/oidc/callback', 'public'),
  local('auth', 'oidc_token', 'POST', '/oidc/token', 'public'),
  local('auth', 'oidc_logout', 'POST', '/oidc/logout', 'public'),

  local('admin', 'openapi', 'GET', '/openapi.json', 'public', openApiDoc),
  local('admin', 'usage', 'GET', '/usage', 'view_own_usage', usageDoc),
  local('admin', 'usage_requests', 'GET', '/usage/requests', 'view_own_usage', usageRequestsDoc),
  local('admin', 'queue', 'GET', '/queue', 'view_own_usage', queueDoc),
  local('admin', 'overview', 'GET', '/overview', 'view_own_usage', overviewDoc),
  local('admin', 'users_list', 'GET', '/users', 'manage_users', users.usersListDoc),
  local('admin', 'users_create', 'POST', '/users', 'manage_users', users.usersCreateDoc),
  local('admin', 'users_get', 'GET', '/users/:name', 'manage_users', users.userGetDoc),
  local('admin', 'users_patch', 'PATCH', '/users/:name', 'manage_users', users.userPatchDoc),
  local('admin', 'users_delete', 'DELETE', '/users/:name', 'manage_users', users.userDeleteDoc),
  local('admin', 'users_password', 'PUT', '/users/:name/password', 'manage_users', users.userPasswordDoc),
  // manage_own_keys: the handlers narrow a caller without manage_keys to their own keys.
  local('admin', 'keys_list', 'GET', '/keys', 'manage_own_keys', keys.keysListDoc),
  local('admin', 'keys_create', 'POST', '/keys', 'manage_own_keys', keys.keysCreateDoc),
  local('admin', 'keys_get', 'GET', '/keys/:id', 'manage_own_keys', keys.keyGetDoc),
  local('admin', 'keys_patch', 'PATCH', '/keys/:id', 'manage_own_keys', keys.keyPatchDoc),
  local('admin', 'keys_revoke', 'POST', '/keys/:id/revoke', 'manage_own_keys', keys.keyRevokeDoc),
  local('admin', 'keys_rotate', 'POST', '/keys/:id/rotate', 'manage_own_keys', keys.keyRotateDoc),
  local('admin', 'limits_list', 'GET', '/limits', 'manage_limits', limits.limitsListDoc),
  local('admin', 'limits_explain', 'GET', '/limits/explain', 'manage_limits', limits.limitsExplainDoc),
  local('admin', 'limit_get', 'GET', '/limits/:subject/:name', 'manage_limits', limits.limitGetDoc),
  local('admin', 'limit_put', 'PUT', '/limits/:subject/:name', 'manage_limits', limits.limitPutDoc),
  local('admin', 'limit_delete', 'DELETE', '/limits/:subject/:name', 'manage_limits', limits.limitDeleteDoc),
  local('admin', 'limit_reset', 'POST', '/limits/:subject/:name/reset', 'manage_limits', limits.limitResetDoc),
  local('admin', 'webhooks_list', 'GET', '/webhooks', 'manage_webhooks', webhooks.webhooksListDoc),
  local('admin', 'webhooks_create', 'POST', '/webhooks', 'manage_webhooks', webhooks.webhooksCreateDoc),
  local('admin', 'webhook_get', 'GET', '/webhooks/:id', 'manage_webhooks', webhooks.webhookGetDoc),
  local('admin', 'webhook_delete', 'DELETE', '/webhooks/:id', 'manage_webhooks', webhooks.webhookDeleteDoc),
  local('admin', 'webhook_test', 'POST', '/webhooks/:id/test', 'manage_webhooks', webhooks.webhookTestDoc),
  local(
    'admin',
    'webhook_deliveries',
    'GET',
    '/webhooks/:id/deliveries',
    'manage_webhooks',
    webhooks.webhookDeliveriesDoc,
  ),

  // Backends and models: what runs where. manage_models, like the native API's pull, create, copy and delete.
  local('admin', 'audit_list', 'GET', '/audit', 'view_audit', auditListDoc),
  local('admin', 'audit_verify', 'GET', '/audit/verify', 'view_audit', auditVerifyDoc),
  local('admin', 'backends_list', 'GET', '/backends', 'manage_models', models.backends_list),
  local('admin', 'backends_drain', 'POST', '/backends/:name/drain', 'manage_models', models.backends_drain),
  local('admin', 'backends_undrain', 'POST', '/backends/:name/undrain', 'manage_models', models.backends_undrain),
  local('admin', 'models_list', 'GET', '/models', 'manage_models', models.models_list),
  local('admin', 'models_pull', 'POST', '/models/pull', 'manage_models', models.models_pull),
  local('admin', 'models_copy', 'POST', '/models/copy', 'manage_models', models.models_copy),
  // The model is the rest of the path: its name may hold `/` (hf.co/org/model:tag).
  local('admin', 'models_delete', 'DELETE', '/models/*', 'manage_models', models.models_delete),

  // The compliance report lists every user and key: those who manage users read it.
  local('admin', 'compliance', 'GET', '/compliance', 'manage_users', complianceDoc),
  local('admin', 'cache_stats', 'GET', '/cache', 'view_usage', cacheStatsDoc),
  local('admin', 'cache_purge', 'DELETE', '/cache', 'manage_models', cachePurgeDoc),

  local('system', 'health', 'GET', '/health', 'public', undefined, 'probe'),
  local('system', 'ready', 'GET', '/ready', 'public', undefined, 'probe'),
  // Public at the door: the handler lets allow-listed addresses in, and asks anyone else for view_metrics.
  local('system', 'metrics', 'GET', '/metrics', 'public'),
  local('system', 'discovery', 'GET', '/discovery', 'authenticated'),
]

/** `<api>.<name>`: how usage rows, logs and the permission table name a route. */
export function routeId(route: { api: string; name: string }): string {
  return `${route.api}.${route.name}`
}

/** The permission table: what each route needs, by `<api>.<name>`. */
export const routeAccess: Readonly<Record<string, RouteAccess>> = Object.fromEntries(
  routeTable.map((route) => [routeId(route), route.access]),
)

/** The routes whose requests spend model tokens (usage rows count them), by `<api>.<name>`. */
export const tokenRoutes: ReadonlySet<string> = new Set(
  routeTable.filter((route) => route.kind === 'proxy' && route.tokens !== 'none').map(routeId),
)

export function proxyRoutes(api?: Api): ProxyRoute[] {
  return routeTable.filter((route): route is ProxyRoute => route.kind === 'proxy' && (!api || route.api === api))
}

export function localRoutes(api: Api): LocalRoute[] {
  return routeTable.filter((route): route is LocalRoute => route.kind === 'local' && route.api === api)
}
