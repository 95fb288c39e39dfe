// Gateway-made error responses, in the dialect of the API the route belongs to.
import type { HttpResponse } from '../../native/uws.js'
import { errorTable, type GatewayError } from '../errors.js'
import { statusLine } from './status.js'

/** `ollama`: the native API's `{"error": "..."}`; `problem`: RFC 9457 problem details, for the auth and admin API. */
export type Dialect = 'ollama' | 'problem'

const contentTypes: Record<Dialect, string> = {
  ollama: 'application/json; charset=utf-8',
  problem: 'application/problem+json',
}

/** Body of an error in the route's dialect; the stable code rides along in each. */
export function errorBody(dialect: Dialect, error: GatewayError, requestId: string): string {
  if (dialect === 'ollama') return JSON.stringify({ error: error.message, code: error.code })
  return JSON.stringify({
    type: `urn:parallama:error:${error.code}`,
    title: errorTable[error.code].message,
    status: error.status,
    detail: error.message,
    code: error.code,
    request_id: requestId,
  })
}

/**
 * Writes a whole error response. Call inside a cork (or the synchronous part of a handler). `close` ends the
 * connection too, for when the request body was left unread.
 */
export function writeError(
  res: HttpResponse,
  dialect: Dialect,
  requestId: string,
  error: GatewayError,
  close = false,
): void {
  res.writeStatus(statusLine(error.status))
  res.writeHeader('content-type', contentTypes[dialect])
  res.writeHeader('x-request-id', requestId)
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.writeHeader(name, value)
  res.end(errorBody(dialect, error, requestId), close)
}
