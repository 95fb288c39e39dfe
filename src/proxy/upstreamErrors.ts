// Turns undici's failures into the gateway's error codes: before the response started (a status to answer with) and
// after (the text of the final `{"error": ...}` line). Messages name a backend as the caller may see it: its address
// only to admins (backendLabel).
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'

/** Backend addresses (URLs, and names made from them) are shown to admins only. */
export function seesBackendAddresses(principal: Principal | undefined): boolean {
  return principal?.role === 'admin'
}

/** Whether a backend's name is one an admin gave it, not the host:port the config made from its URL. */
export function hasConfiguredName(backend: { name: string; url: string }): boolean {
  try {
    return backend.name !== new URL(backend.url).host
  } catch {
    return false
  }
}

/**
 * How a backend is named to a caller: admins see its name (host:port unless one was configured); others only a
 * configured name, never an address — undefined when it has none. Logs and metrics keep the name as it is (admins').
 */
export function backendLabel(
  backend: { name: string; url: string },
  principal: Principal | undefined,
): string | undefined {
  return seesBackendAddresses(principal) || hasConfiguredName(backend) ? backend.name : undefined
}

/** `backend gpu1` in a message, or just `the backend` for a caller who may not see its address. */
function named(backendName: string | undefined): string {
  return backendName === undefined ? 'the backend' : `backend ${backendName}`
}

/** Why we aborted the upstream ourselves. */
export class ExchangeAbort extends Error {
  constructor(readonly reason: 'client_gone' | 'total_timeout' | 'shutdown') {
    super(abortMessages[reason])
  }
}

const abortMessages = {
  client_gone: 'the client went away',
  total_timeout: 'the request took longer than timeouts.total',
  shutdown: 'the gateway is shutting down and could not wait for this request any longer',
}

/** `backendName`: as backendLabel gives it for the caller (undefined: the backend is not named). */
export function errorBeforeResponse(error: unknown, backendName: string | undefined): GatewayError {
  if (error instanceof ExchangeAbort) {
    return error.reason === 'shutdown'
      ? new GatewayError('shutting_down', error.message, { 'retry-after': '1' })
      : new GatewayError('upstream_timeout', error.message)
  }
  const code = (error as { code?: string }).code
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new GatewayError('upstream_timeout', `${named(backendName)} sent no response within timeouts.first_byte`)
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new GatewayError('upstream_timeout', `connecting to ${named(backendName)} timed out`)
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new GatewayError('upstream_unreachable', `${named(backendName)} could not be reached (${code})`)
    default:
      return new GatewayError('upstream_failed', `${named(backendName)} failed: ${code ?? 'unknown error'}`)
  }
}

export function errorMidStream(error: unknown, backendName: string | undefined): string {
  if (error instanceof ExchangeAbort) return error.message
  const code = (error as { code?: string }).code
  if (code === 'UND_ERR_BODY_TIMEOUT') return `${named(backendName)} went silent for longer than timeouts.idle`
  return `connection to ${named(backendName)} was lost mid-response (${code ?? 'unknown error'})`
}

/** Connection-level failures where the request never reached the backend, so another backend may take it. */
export function neverReachedBackend(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return (
    code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
  )
}
