// The per-request log line (log.requests, on by default): who (ids, never a credential), what, how it ended, its
// tokens and timings. Written by hand into one JSON string — no field object, no generic JSON.stringify of a record —
// and handed to the logger's sink (stdout: batched writes, flushed on a timer, at shutdown and at exit). The line has
// the shape a `logger.info('request', fields)` line has: time, level, msg, then the fields; absent ones are left out.
// Request-derived strings (the request id, the model) are escaped exactly as JSON.stringify would.
import type { Logger } from './logger.js'
import type { LiveConfig } from './config/liveConfig.js'
import type { ExchangeEnd, ExchangeResult } from './proxy/exchange.js'

/** Printable ASCII without `"` or `\`: a string of these is its own JSON text between quotes. */
const plain = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** A string as JSON: exact (JSON.stringify) whenever anything might need escaping. */
function text(value: string | null): string {
  if (value === null) return 'null'
  return plain.test(value) ? `"${value}"` : JSON.stringify(value)
}

/** A number as JSON.stringify writes it (a number that is not finite is null). */
function number(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null'
}

/** Tenths of a millisecond, as the line has always shown durations. */
function tenths(ms: number): string {
  return number(Math.round(ms * 10) / 10)
}

let lastMs = -1
let lastIso = ''
/** The ISO time of now, made once per millisecond however many lines are written in it. */
function isoNow(): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastIso = new Date(now).toISOString()
  }
  return lastIso
}

/** The request's line, without its newline. */
export function requestLine(result: ExchangeResult): string {
  const usage = result.usage
  let line = `{"time":"${isoNow()}","level":"info","msg":"request","request_id":${text(result.requestId)}`
  line += `,"user_id":${number(result.userId)},"key_id":${text(result.keyId)},"api":${text(result.api)}`
  line += `,"route":${text(result.route)},"model":${text(result.model)},"backend":${text(result.backend)}`
  line += `,"status":${number(result.status)}`
  if (result.errorCode !== undefined) line += `,"error":${text(result.errorCode)}`
  if (usage?.promptTokens !== undefined) line += `,"prompt_tokens":${number(usage.promptTokens)}`
  if (usage?.completionTokens !== undefined) line += `,"completion_tokens":${number(usage.completionTokens)}`
  if (result.firstByteAt > 0) line += `,"ttfb_ms":${tenths(result.firstByteAt - result.startedAt)}`
  line += `,"duration_ms":${tenths(result.endedAt - result.startedAt)},"client_ip":${text(result.clientIp)}`
  if (result.clientAborted) line += `,"aborted":true`
  return line + '}'
}

/** Logs a request's line through the logger's sink (the caller checks log.requests and the info level). */
export function logRequest(logger: Logger, result: ExchangeResult): void {
  logger.writeLine(requestLine(result) + '\n')
}

/** The finish stage's log consumer: the line of every request while log.requests is on and the level lets info out. */
export function requestLogger(logger: Logger, config: LiveConfig): ExchangeEnd {
  return (result) => {
    if (config.current.log.requests && logger.enabled('info')) logRequest(logger, result)
  }
}
