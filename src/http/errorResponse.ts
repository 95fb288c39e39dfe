// Gateway-made error responses, in the dialect of the API the route belongs to.
import type { HttpResponse } from '../../native/uws.js'
import { clientCode, errorTable, FieldRefusal, type ErrorCode, type GatewayError } from '../errors.js'
import { writeStatus } from './status.js'

/**
 * `ollama`: the native API's `{"error": "..."}`; `openai`: OpenAI's error object, for /v1; `anthropic`: Anthropic's, for
 * /v1/messages; `problem`: RFC 9457 problem details, for the auth and admin API.
 */
export type Dialect = 'ollama' | 'openai' | 'anthropic' | 'problem'

const contentTypes: Record<Dialect, string> = {
  ollama: 'application/json; charset=utf-8',
  openai: 'application/json; charset=utf-8',
  anthropic: 'application/json; charset=utf-8',
  problem: 'application/problem+json',
}

/**
 * OpenAI's `code` for ours where its clients look for one: every refused credential is `invalid_api_key`, a used-up
 * quota `insufficient_quota`. The rest keep our code (it is in the x-parallama-error header either way).
 */
export function openAiCode(error: GatewayError): string {
  // A plugin's refusal keeps the plugin's code, whatever its status.
  if (error.code === 'plugin_refused') return clientCode(error)
  if (error.status === 401 && error.code !== 'invalid_credentials') return 'invalid_api_key'
  if (error.code === 'quota_exceeded') return 'insufficient_quota'
  return error.code
}

/** OpenAI's error `type` for a status (what its SDKs and tools branch on). */
export function openAiType(error: GatewayError): string {
  if (error.code === 'quota_exceeded') return 'insufficient_quota'
  if (error.status === 401) return 'authentication_error'
  if (error.status === 403) return 'permission_error'
  if (error.status === 429) return 'rate_limit_error'
  return error.status < 500 ? 'invalid_request_error' : 'api_error'
}

function anthropicType(error: GatewayError): string {
  if (error.status === 404) return 'not_found_error'
  if (error.status === 413) return 'request_too_large'
  if (error.status === 429 || error.status === 401 || error.status === 403) return openAiType(error)
  return error.status < 500 ? 'invalid_request_error' : 'api_error'
}

/**
 * OpenAI's `param` for a refused field: the field's path as OpenAI writes it (`messages[0].role`, `temperature`), made
 * from the JSON pointer the refusal names; null for any other error.
 */
export function openAiParam(error: GatewayError): string | null {
  if (!(error instanceof FieldRefusal) || error.pointer === '') return null
  let param = ''
  for (const token of error.pointer.slice(1).split('/')) {
    const name = token.replaceAll('~1', '/').replaceAll('~0', '~')
    param += /^(0|[1-9][0-9]*)$/.test(name) ? `[${name}]` : param === '' ? name : `.${name}`
  }
  return param
}

/** Body of an error in the route's dialect; the stable code rides along in each. */
export function errorBody(dialect: Dialect, error: GatewayError, requestId: string): string {
  if (dialect === 'ollama') return JSON.stringify({ error: error.message, code: clientCode(error) })
  if (dialect === 'openai') {
    return JSON.stringify({
      error: { message: error.message, type: openAiType(error), param: openAiParam(error), code: openAiCode(error) },
    })
  }
  if (dialect === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: anthropicType(error), message: error.message } })
  }
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
/**
 * Responses to HEAD requests: an error answer to one has its length but no body. A body after a HEAD response would be
 * read by the client as the start of the next response on the connection.
 */
const headResponses = new WeakSet<HttpResponse>()

/** Marks `res` as the response to a HEAD request (done where the request is first read). */
export function answeringHead(res: HttpResponse): void {
  headResponses.add(res)
}

export function writeError(
  res: HttpResponse,
  dialect: Dialect,
  requestId: string,
  error: GatewayError,
  close = false,
  startedAt?: number,
  /** More headers, flat [name, value, ...]: a limited caller's rate-limit headers. */
  extraHeaders?: readonly string[],
): void {
  writeStatus(res, error.status)
  res.writeHeader('content-type', contentTypes[dialect])
  res.writeHeader('x-request-id', requestId)
  if (startedAt !== undefined) res.writeHeader('server-timing', gatewayTiming(startedAt))
  res.writeHeader('x-parallama-error', error.code)
  if (error.headers) for (const [name, value] of Object.entries(error.headers)) res.writeHeader(name, value)
  if (extraHeaders)
    for (let i = 0; i < extraHeaders.length; i += 2) res.writeHeader(extraHeaders[i]!, extraHeaders[i + 1]!)
  // (Not endWithoutBody(length): this uWS build then waits for `length` more bytes and never ends the response.)
  res.end(headResponses.has(res) ? '' : errorBody(dialect, error, requestId), close)
}

/** The last event of an SSE stream that failed after it began, in the route's dialect; undefined: none exists. */
export function errorEvent(dialect: Dialect, message: string, code: ErrorCode): string | undefined {
  if (dialect === 'openai') {
    return `data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`
  }
  if (dialect === 'anthropic') {
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`
  }
  return undefined
}

/** Server-Timing of an answer the gateway made itself: all of it was the gateway's time. */
export function gatewayTiming(startedAt: number): string {
  const ms = Math.round((performance.now() - startedAt) * 10) / 10
  return `gateway;dur=${ms}, total;dur=${ms}`
}
