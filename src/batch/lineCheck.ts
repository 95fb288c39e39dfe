// One line of a batch input file, checked before any line runs: JSON, an object with a non-empty string `custom_id`
// unique in the file, `method` POST, `url` the batch's endpoint, and a `body` object naming a `model`. The checks are
// OpenAI's (its validation step fails the whole batch and lists the bad lines in `errors`); the line number is 1-based.
// A line's body is sent on as the bytes the file holds (lineBody), never parsed and serialized again: JSON.stringify
// overflows the stack on deep nesting and changes what JavaScript cannot hold (1e309 becomes null, a second "model" key
// is dropped), so the stages would check another body than the one written, and a line that cannot be serialized
// would be retried until the batch expired.
import { readJsonFields, type ObjectSpec } from '../api/jsonFields.js'
import { GatewayError } from '../errors.js'

/** The endpoints a batch may run (OpenAI's batch endpoints that Ollama answers). */
export const batchEndpoints = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const
export type BatchEndpoint = (typeof batchEndpoints)[number]

/** The most lines one batch may have (OpenAI's). */
export const maxBatchLines = 50_000

/** A bad line, as OpenAI's `errors.data[]` names it. */
export interface LineError {
  code: string
  message: string
  param: string | null
  line: number
}

export interface GoodLine {
  customId: string
  model: string
}

const maxCustomIdBytes = 512

/**
 * Checks one line, its text and its bytes (without the line end); `seen` holds the custom_ids of the lines before it
 * (this line's is added when good).
 */
export function checkLine(
  text: string,
  bytes: Buffer,
  line: number,
  endpoint: string,
  seen: Set<string>,
): GoodLine | LineError {
  const bad = (code: string, message: string, param: string | null = null): LineError => ({
    code,
    message: `line ${line}: ${message}`,
    param,
    line,
  })
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return bad('invalid_json_line', 'is not valid JSON')
  }
  if (!isObject(value)) return bad('invalid_request', 'must be a JSON object')
  const customId = value.custom_id
  if (typeof customId !== 'string' || customId === '') {
    return bad('missing_required_parameter', '"custom_id" is required and must be a non-empty string', 'custom_id')
  }
  if (Buffer.byteLength(customId) > maxCustomIdBytes) {
    return bad('invalid_value', `"custom_id" is longer than ${maxCustomIdBytes} bytes`, 'custom_id')
  }
  if (seen.has(customId))
    return bad('duplicate_custom_id', `"custom_id" ${JSON.stringify(customId)} is used twice`, 'custom_id')
  if (value.method !== 'POST') return bad('invalid_method', '"method" must be "POST"', 'method')
  if (value.url !== endpoint) {
    return bad('mismatched_url', `"url" must be the batch's endpoint ${endpoint}`, 'url')
  }
  const body = value.body
  if (!isObject(body)) return bad('invalid_request', '"body" must be a JSON object', 'body')
  if (typeof body.model !== 'string' || body.model === '') {
    return bad('missing_required_parameter', '"body.model" is required and must be a non-empty string', 'body.model')
  }
  const sent = lineBody(bytes)
  if (sent instanceof GatewayError) return bad('invalid_request', sent.message, 'body')
  seen.add(customId)
  return { customId, model: body.model }
}

/** The line's `body` member as a top-level key spelled exactly (OpenAI's format, not Go's folding). */
const bodyField: ObjectSpec = { fields: [{ name: 'body', type: 'object' }], folds: false }

/**
 * The bytes of a line's `body` object, as written: what a batch line sends through the stages. Refused (a 400 naming
 * why) when the line is nested deeper than the gateway reads or names `body` twice (JSON.parse would keep the last).
 */
export function lineBody(line: Buffer): Buffer | GatewayError {
  const found = readJsonFields(line, bodyField)
  if (found instanceof GatewayError) return found
  const body = found[0]
  if (body?.kind !== 'object') return new GatewayError('invalid_request', '"body" must be a JSON object')
  return line.subarray(body.start, body.end)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
