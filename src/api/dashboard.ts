// /ui/: the dashboard's static files (src/ui/app, built into dist/ui by `npm run build`), served from memory by the
// gateway itself. Hashed assets are cached for a year, the page is revalidated; every answer carries a
// Content-Security-Policy that allows this origin only (no inline script or style, no CDN). The page talks to /auth/v1
// and /admin/v1 like any other client.
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HttpRequest, HttpResponse, TemplatedApp } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { answeringHead, writeError } from '../http/errorResponse.js'
import { pickRequestId } from '../http/requestId.js'
import { findStaticFile, type StaticFile, type StaticFiles } from '../http/staticFiles.js'
import { writeStatus } from '../http/status.js'

import type { TrustedProxies } from '../http/clientAddress.js'
import { clientIpOf } from '../http/requestSnapshot.js'
import { mountMethods, type AddressGuard } from './routes.js'

export const dashboardMount = '/ui'

/** Everything from this origin, nothing inline, nothing framed: an injected tag can neither run nor load. */
export const dashboardCsp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const securityHeaders = [
  ['content-security-policy', dashboardCsp],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['x-frame-options', 'DENY'],
  ['cross-origin-opener-policy', 'same-origin'],
] as const

/**
 * Where the build puts the dashboard: dist/ui beside the compiled code (dist/src/api → dist/ui), or the checkout's
 * dist/ui when the gateway runs from its sources (the tests).
 */
export function dashboardDir(): string {
  const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..')
  return basename(root) === 'dist' ? join(root, 'ui') : join(root, 'dist', 'ui')
}

/** GET and HEAD on /ui (redirected to /ui/) and /ui/*; 405 for other methods, 404 for a name not in the build. */
export function mountDashboard(app: TemplatedApp, files: StaticFiles, guard: AddressGuard): void {
  const serve = (res: HttpResponse, req: HttpRequest): void => {
    const request = readRequest(res, req, guard.trusted?.())
    if (request.method === 'HEAD') answeringHead(res)
    const byAddress = guard.admitAddress(request.address, guard.api)
    if (byAddress instanceof GatewayError) return writeError(res, 'problem', request.requestId, byAddress)
    byAddress?.release(undefined)
    if (request.path === dashboardMount) return redirect(res, request.requestId)
    const file = findStaticFile(files, request.path.slice(dashboardMount.length + 1))
    if (!file) return writeError(res, 'problem', request.requestId, missing(files, request.path))
    answerFile(res, request, file)
  }
  mountMethods(app, dashboardMount, ['GET', 'HEAD'], serve, 'problem', guard)
  mountMethods(app, `${dashboardMount}/*`, ['GET', 'HEAD'], serve, 'problem', guard)
}

interface DashboardRequest {
  method: string
  path: string
  requestId: string
  address: string
  ifNoneMatch: string
  gzip: boolean
}

/** What the answer needs, read before the request object is gone. */
function readRequest(res: HttpResponse, req: HttpRequest, trusted: TrustedProxies | undefined): DashboardRequest {
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    requestId: pickRequestId(req.getHeader('x-request-id')),
    address: clientIpOf(req, res, trusted),
    ifNoneMatch: req.getHeader('if-none-match'),
    gzip: /\bgzip\b/.test(req.getHeader('accept-encoding')),
  }
}

function answerFile(res: HttpResponse, request: DashboardRequest, file: StaticFile): void {
  const notModified = request.ifNoneMatch !== '' && request.ifNoneMatch.split(/\s*,\s*/).includes(file.etag)
  const body = request.gzip && file.gzipped ? file.gzipped : file.body
  writeStatus(res, notModified ? 304 : 200)
  res.writeHeader('x-request-id', request.requestId)
  res.writeHeader('etag', file.etag)
  res.writeHeader('cache-control', file.cacheControl)
  res.writeHeader('vary', 'accept-encoding')
  for (const [name, value] of securityHeaders) res.writeHeader(name, value)
  if (notModified) return void res.endWithoutBody()
  res.writeHeader('content-type', file.contentType)
  if (body === file.gzipped) res.writeHeader('content-encoding', 'gzip')
  if (request.method !== 'HEAD') return void res.end(body)
  // The length as a header: given to endWithoutBody, this uWS build waits for that many bytes (docs/http.md).
  res.writeHeader('content-length', String(body.length))
  res.endWithoutBody()
}

/** /ui → /ui/, so that the page's relative asset paths resolve under the mount. */
function redirect(res: HttpResponse, requestId: string): void {
  writeStatus(res, 308)
  res.writeHeader('location', `${dashboardMount}/`)
  res.writeHeader('x-request-id', requestId)
  res.end('')
}

function missing(files: StaticFiles, path: string): GatewayError {
  if (files.size === 0) {
    return new GatewayError('not_found', 'the dashboard is not built into this installation (npm run build makes it)')
  }
  return new GatewayError('not_found', `the dashboard has no file ${path}`)
}
