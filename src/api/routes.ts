// Mounts route tables on the uWS app: each path answers its methods, 405 (with Allow) for the others, and every
// unknown path gets a 404 in its API's error shape.
import type { HttpRequest, HttpResponse, TemplatedApp } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import type { Admission } from '../limits/limiter.js'
import { writeError, type Dialect } from '../http/errorResponse.js'
import { pickRequestId } from '../http/requestId.js'
import type { ProxyStages } from './pipeline.js'
import { accessFor } from '../auth/permissions.js'
import type { ModelAliases } from '../models/aliases.js'
import { ollamaMounts, ollamaRoutes, rootRoute, type OllamaRoute } from './ollama.js'
import { proxyHandler, type ProxyRouteSpec } from './proxyHandler.js'
import { readOllamaBody } from './ollamaBody.js'
import { openAiMounts, openAiRoutes, openAiSpec } from './openai.js'
import { NativeUsageTap, type TapFactory } from '../proxy/responseTap.js'
import { nativeModelListTap } from '../proxy/nativeModelList.js'

type Handler = (res: HttpResponse, req: HttpRequest) => void

const blobDigest = /^sha256[:-][0-9a-f]{64}$/

const nativeTap = (): TapFactory => () => new NativeUsageTap()

/** What the route tables read besides the stages: model aliases, and the running config (through `stages.config`). */
interface RouteContext {
  stages: ProxyStages
  aliases: ModelAliases
  readonly config: ProxyStages['config']['current']
}

export function mountRoutes(app: TemplatedApp, stages: ProxyStages, aliases: ModelAliases): void {
  const context: RouteContext = {
    stages,
    aliases,
    get config() {
      return stages.config.current
    },
  }
  const openAiGuard: AddressGuard = { admitAddress: stages.addressGuard, api: 'openai' }
  const ollamaGuard: AddressGuard = { admitAddress: stages.addressGuard, api: 'ollama' }
  mountOllama(app, rootRoute, ['/', '/ollama/v1', '/ollama/v1/'], context)
  for (const route of ollamaRoutes) {
    mountOllama(
      app,
      route,
      ollamaMounts.map((mount) => mount + route.path),
      context,
    )
  }
  for (const mount of openAiMounts) {
    for (const route of openAiRoutes) {
      const handler = proxyHandler(openAiSpec(route, mount, context), stages)
      mountMethods(app, mount + route.path, [route.method], handler, route.dialect, openAiGuard)
    }
    app.any(`${mount}/*`, (res, req) => answer(res, req, 'openai', openAiGuard, notFound(req)))
  }
  app.any('/*', (res, req) => answer(res, req, 'ollama', ollamaGuard, notFound(req)))
}

function notFound(req: HttpRequest): GatewayError {
  return new GatewayError('not_found', `no route for ${req.getCaseSensitiveMethod()} ${req.getUrl()}`)
}

function mountOllama(app: TemplatedApp, route: OllamaRoute, paths: string[], context: RouteContext): void {
  const spec: ProxyRouteSpec = {
    dialect: 'ollama',
    api: 'ollama',
    name: route.name,
    access: accessFor(`ollama.${route.name}`),
    upstreamPath: route === rootRoute ? '/' : route.path.includes(':') ? blobPath : `/api${route.path}`,
    body: route.body,
    tokens: route.tokens,
    // Aliases stand for models on the routes that run one; managing models by an alias name would mislead.
    readFields: (body) => readOllamaBody(body, route.required, route.tokens === 'none' ? undefined : context.aliases),
    tap: route.sniffUsage ? nativeTap : undefined,
  }
  // The model lists show only what the credential may use (and the aliases of that), as /v1/models does.
  if (route.name === 'tags' || route.name === 'ps') {
    spec.tap = (_fields, principal) => nativeModelListTap(principal, context.aliases)
  }
  const handler = proxyHandler(spec, context.stages)
  const guard: AddressGuard = { admitAddress: context.stages.addressGuard, api: 'ollama' }
  for (const path of paths) mountMethods(app, path, route.methods, handler, 'ollama', guard)
}

function blobPath(req: HttpRequest): string | GatewayError {
  const digest = req.getParameter(0)
  if (!blobDigest.test(digest)) {
    return new GatewayError('invalid_request', `invalid digest "${digest}": expected sha256:<64 hex digits>`)
  }
  return `/api/blobs/${digest}`
}

const methodRegistrars: Record<string, (app: TemplatedApp, path: string, handler: Handler) => void> = {
  GET: (app, path, handler) => app.get(path, handler),
  HEAD: (app, path, handler) => app.head(path, handler),
  POST: (app, path, handler) => app.post(path, handler),
  DELETE: (app, path, handler) => app.del(path, handler),
}

/**
 * The address guard for the gateway's own answers (404, 405): the limiter's admitAddress and the API to count on.
 * Every answer but the probes' passes the guard, also one for a path or method that is not a route.
 */
export interface AddressGuard {
  admitAddress: (address: string, api: string) => Admission | GatewayError | undefined
  api: string
}

/** Mounts one path: a handler per method (or one for all), and 405 with Allow for any other method. */
export function mountMethods(
  app: TemplatedApp,
  path: string,
  methods: readonly string[],
  handler: Handler | Record<string, Handler>,
  dialect: Dialect,
  guard: AddressGuard | undefined,
): void {
  for (const method of methods) {
    methodRegistrars[method]!(app, path, typeof handler === 'function' ? handler : handler[method]!)
  }
  const allow = methods.join(', ')
  app.any(path, (res, req) =>
    answer(
      res,
      req,
      dialect,
      guard,
      new GatewayError(
        'method_not_allowed',
        `${req.getCaseSensitiveMethod()} is not allowed on ${req.getUrl()}; use ${allow}`,
        {
          allow,
        },
      ),
    ),
  )
}

/**
 * An immediate answer from the synchronous part of a handler; any request body is left unread, so close after. An
 * address past its limits gets the guard's 429 instead (the slot it took is given back at once).
 */
function answer(
  res: HttpResponse,
  req: HttpRequest,
  dialect: Dialect,
  guard: AddressGuard | undefined,
  error: GatewayError,
): void {
  const startedAt = performance.now()
  const requestId = pickRequestId(req.getHeader('x-request-id'))
  const hasBody = req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== ''
  const byAddress = guard?.admitAddress(Buffer.from(res.getRemoteAddressAsText()).toString('latin1'), guard.api)
  if (byAddress instanceof GatewayError) error = byAddress
  else byAddress?.release(undefined)
  writeError(res, dialect, requestId, error, hasBody, startedAt)
}
