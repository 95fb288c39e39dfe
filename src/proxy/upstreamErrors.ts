// Turns undici's failures into the gateway's error codes: before the response started (a status to answer with) and
// after (the text of the final `{"error": ...}` line).
import { GatewayError } from '../errors.js'

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

export function errorBeforeResponse(error: unknown, backendName: string): GatewayError {
  if (error instanceof ExchangeAbort) {
    return error.reason === 'shutdown'
      ? new GatewayError('shutting_down', error.message, { 'retry-after': '1' })
      : new GatewayError('upstream_timeout', error.message)
  }
  const code = (error as { code?: string }).code
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new GatewayError('upstream_timeout', `backend ${backendName} sent no response within timeouts.first_byte`)
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new GatewayError('upstream_timeout', `connecting to backend ${backendName} timed out`)
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new GatewayError('upstream_unreachable', `backend ${backendName} could not be reached (${code})`)
    default:
      return new GatewayError('upstream_failed', `backend ${backendName} failed: ${code ?? 'unknown error'}`)
  }
}

export function errorMidStream(error: unknown, backendName: string): string {
  if (error instanceof ExchangeAbort) return error.message
  const code = (error as { code?: string }).code
  if (code === 'UND_ERR_BODY_TIMEOUT') return `backend ${backendName} went silent for longer than timeouts.idle`
  return `connection to backend ${backendName} was lost mid-response (${code ?? 'unknown error'})`
}

/** Connection-level failures where the request never reached the backend, so another backend may take it. */
export function neverReachedBackend(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return (
    code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
  )
}
