// Checks what a plugin asks to send: header names and values that cannot split or reframe a response, a status the
// gateway can write, a body or chunks of bytes. What fails the check is the plugin's error (500 plugin_error).

export interface Answer {
  status: number
  /** Flat [name, value, ...]. */
  headers: string[]
  body: Buffer | undefined
  chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string> | undefined
}

/** RFC 9110 token characters. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/
/** Visible ASCII, spaces and tabs: no CR, LF or NUL. */
const headerValue = /^[\t\x20-\x7e]{0,8192}$/
/** uWS writes the framing itself; the gateway writes its own request id and error code. */
const reserved = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'x-request-id',
  'x-parallama-error',
  'date',
])

export function checkedHeaders(headers: unknown): string[] | Error {
  if (!headers || typeof headers !== 'object') return new Error('headers must be an object of name: value')
  const flat: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) return new Error(`header name ${JSON.stringify(name.slice(0, 40))} is not a token`)
    if (reserved.has(name.toLowerCase())) return new Error(`header ${name} is the gateway's to write`)
    if (typeof value !== 'string' || !headerValue.test(value)) {
      return new Error(`header ${name}: the value must be a string of visible ASCII (no CR or LF)`)
    }
    flat.push(name.toLowerCase(), value)
  }
  return flat
}

export function checkedAnswer(answer: unknown): Answer | Error {
  if (!answer || typeof answer !== 'object') return new Error('answer must be an object')
  const given = answer as { status?: unknown; headers?: unknown; body?: unknown; chunks?: unknown }
  const status = given.status ?? 200
  if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) {
    return new Error('answer.status must be an integer from 200 to 599')
  }
  const headers = given.headers === undefined ? [] : checkedHeaders(given.headers)
  if (headers instanceof Error) return headers
  if (!headers.includes('content-type')) headers.push('content-type', 'application/json; charset=utf-8')
  let body: Buffer | undefined
  if (typeof given.body === 'string') body = Buffer.from(given.body, 'utf8')
  else if (given.body instanceof Uint8Array) body = Buffer.from(given.body)
  else if (given.body !== undefined) return new Error('answer.body must be a Buffer or a string')
  const chunks = given.chunks as Answer['chunks']
  if (chunks !== undefined) {
    const iterable = chunks as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown }
    if (typeof iterable[Symbol.iterator] !== 'function' && typeof iterable[Symbol.asyncIterator] !== 'function') {
      return new Error('answer.chunks must be an array or an (async) iterable')
    }
    if (body !== undefined) return new Error('answer has both a body and chunks')
  }
  return { status: status as number, headers, body, chunks }
}
