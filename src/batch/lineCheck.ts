// One line of a batch input file, checked before any line runs: JSON, an object with a non-empty string `custom_id`
// unique in the file, `method` POST, `url` the batch's endpoint, and a `body` object naming a `model`. The checks are
// OpenAI's (its validation step fails the whole batch and lists the bad lines in `errors`); the line number is 1-based.

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

/** Checks one line's text; `seen` holds the custom_ids of the lines before it (this line's is added when good). */
export function checkLine(text: string, line: number, endpoint: string, seen: Set<string>): GoodLine | LineError {
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
  seen.add(customId)
  return { customId, model: body.model }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
