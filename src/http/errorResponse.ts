// Gateway-made error responses, in the dialect of the API the route belongs to.
import type { HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'
import { statusLine } from './status.js'

export type Dialect = 'ollama'

/** Body of an error in the route's dialect. The Ollama shape is `{"error": "..."}`; the code rides along. */
export function errorBody(_dialect: Dialect, error: GatewayError): string {
  return JSON.stringify({ error: error.message, code: error.code })
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
  res.writeHeader('content-type', 'application/json; charset=utf-8')
  res.writeHeader('x-request-id', requestId)
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.writeHeader(name, value)
  res.end(errorBody(dialect, error), close)
}
