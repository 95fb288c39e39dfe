// Mounts the route table (routeTable.ts) on the uWS app: each path answers its methods, 405 (with Allow) for the
// others, and every unknown path gets a 404 in its API's error shape. All of it at mount time: a request finds its
// handler through uWS's router, never through the table.
import type { HttpRequest, HttpResponse, TemplatedApp } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import type { Admission } from '../limits/limiter.js'
import { answeringHead, writeError, type Dialect } from '../http/errorResponse.js'
import { pickRequestId } from '../http/requestId.js'
import { clientIpOf } from '../http/requestSnapshot.js'
import type { TrustedProxies } from '../http/clientAddress.js'
import type { ModelAliases } from '../models/aliases.js'
import type { ProxyStages } from './pipeline.js'
import { deprecationHeaders, successorPath } from './apiVersions.js'
import { jsonRoute, type JsonHandler, type JsonRouteContext } from './jsonRoute.js'
import { ollamaSpec } from './ollama.js'
import { openAiSpec } from './openai.js'
import { proxyHandler } from './proxyHandler.js'
import { apiPrefixes, localRoutes, proxyRoutes, routeId, type Api, type LocalRoute } from './routeTable.js'

type Handler = (res: HttpResponse, req: HttpRequest) => void

/** The proxied routes (native and OpenAI) at every path, and the 404 of every API's unknown paths. */
export function mountRoutes(app: TemplatedApp, stages: ProxyStages, aliases: ModelAliases): void {
  // What the specs read besides the stages: model aliases, and the running config (a reload replaces it).
  const context = {
    aliases,
    get config() {
      return stages.config.current
    },
  }
  for (const route of proxyRoutes()) {
    const guard: AddressGuard = { admitAddress: stages.addressGuard, api: route.api, trusted: stages.trustedProxies }
    for (const path of route.paths) {
      const spec = route.api === 'openai' ? openAiSpec(route, path, context) : ollamaSpec(route, context)
      mountMethods(app, path, route.methods, proxyHandler(spec, stages), route.dialect, guard)
    }
  }
  for (const { prefix, api, dialect } of apiPrefixes) {
    const guard: AddressGuard = { admitAddress: stages.addressGuard, api, trusted: stages.trustedProxies }
    const unknown = (res: HttpResponse, req: HttpRequest) => answer(res, req, dialect, guard, notFound(req))
    if (prefix !== '') app.any(prefix, unknown)
    app.any(`${prefix}/*`, unknown)
  }
}

/**
 * Mounts the JSON routes of one API (auth, admin, system, OpenAI's files and batches) from the table, each with its handler: a path once, with
 * the handlers of its methods and a 405 for the rest; a deprecated path like its successor, plus the deprecation
 * headers. A route without a handler, or a handler without a route, is a bug found at start-up.
 */
export function mountLocalRoutes(
  app: TemplatedApp,
  api: Api,
  context: JsonRouteContext,
  handlers: Record<string, JsonHandler>,
): void {
  const routes = localRoutes(api)
  /** The 405 of a deprecated path carries its headers too. */
  type HeadersFor = (url: string) => readonly string[]
  const paths = new Map<string, { handlers: Record<string, Handler>; routes: LocalRoute[]; headers?: HeadersFor }>()
  const add = (path: string, route: LocalRoute, handler: Handler, headers?: HeadersFor) => {
    const entry = paths.get(path) ?? { handlers: {}, routes: [], headers }
    for (const method of route.methods) entry.handlers[method] = handler
    entry.routes.push(route)
    paths.set(path, entry)
  }
  for (const route of routes) {
    const handle = handlers[route.name]
    if (!handle) throw new Error(`route ${routeId(route)} has no handler`)
    for (const path of route.paths) add(path, route, jsonRoute(route, context, handle))
    const { deprecated } = route
    for (const path of deprecated?.paths ?? []) {
      const headers = (url: string) =>
        deprecationHeaders(successorPath(url, path, route.paths[0]!), deprecated!.at, deprecated!.sunset)
      add(path, route, jsonRoute(route, context, handle, headers), headers)
    }
  }
  for (const name of Object.keys(handlers)) {
    if (!routes.some((route) => route.name === name)) throw new Error(`handler ${api}.${name} has no route`)
  }
  for (const [path, entry] of paths) {
    // The probes' paths skip the address guard, their 405 too (RouteGuard in jsonRoute.ts).
    const probes = entry.routes.every((route) => route.guard === 'probe')
    const guard = probes
      ? undefined
      : { admitAddress: context.limits.admitAddress, api, trusted: context.trustedProxies }
    const dialect = entry.routes[0]!.dialect
    mountMethods(app, path, Object.keys(entry.handlers), entry.handlers, dialect, guard, entry.headers)
  }
}

function notFound(req: HttpRequest): GatewayError {
  return new GatewayError('not_found', `no route for ${req.getCaseSensitiveMethod()} ${req.getUrl()}`)
}

const methodRegistrars: Record<string, (app: TemplatedApp, path: string, handler: Handler) => void> = {
  GET: (app, path, handler) => app.get(path, handler),
  HEAD: (app, path, handler) => app.head(path, handler),
  POST: (app, path, handler) => app.post(path, handler),
  PUT: (app, path, handler) => app.put(path, handler),
  PATCH: (app, path, handler) => app.patch(path, handler),
  DELETE: (app, path, handler) => app.del(path, handler),
}

/**
 * The address guard for the gateway's own answers (404, 405): the limiter's admitAddress and the API to count on.
 * Every answer but the probes' passes the guard, also one for a path or method that is not a route.
 */
export interface AddressGuard {
  admitAddress: (address: string, api: string) => Admission | GatewayError | undefined
  api: string
  /** The trusted proxies now (server.trusted_proxies), to find the client behind them. */
  trusted?: () => TrustedProxies | undefined
}

/** Mounts one path: a handler per method (or one for all), and 405 with Allow for any other method. */
export function mountMethods(
  app: TemplatedApp,
  path: string,
  methods: readonly string[],
  handler: Handler | Record<string, Handler>,
  dialect: Dialect,
  guard: AddressGuard | undefined,
  /** More headers on the 405 (a deprecated path's), from the request URL. */
  headers?: (url: string) => readonly string[],
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
      headers?.(req.getUrl()),
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
  headers?: readonly string[],
): void {
  const startedAt = performance.now()
  const requestId = pickRequestId(req.getHeader('x-request-id'))
  if (req.getCaseSensitiveMethod().toUpperCase() === 'HEAD') answeringHead(res)
  const hasBody = req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== ''
  const byAddress = guard?.admitAddress(clientIpOf(req, res, guard.trusted?.()), guard.api)
  if (byAddress instanceof GatewayError) error = byAddress
  else byAddress?.release(undefined)
  writeError(res, dialect, requestId, error, hasBody, startedAt, headers)
}
