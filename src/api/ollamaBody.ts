// The fields the gateway itself needs from a native API request body, checked the way Ollama checks them.
import { GatewayError } from '../errors.js'

export type RequiredFields = 'model' | 'copy' | 'none'

export interface OllamaRequestFields {
  /** The models the request names (copy names two; a request naming none, none). */
  models: string[]
  /** Whether the reply streams (Ollama's default is true). */
  stream: boolean
  /** options.num_predict, when the request sets a positive one. */
  predict: number | undefined
}

export function readOllamaBody(body: Buffer, required: RequiredFields): OllamaRequestFields | GatewayError {
  if (body.length === 0) return new GatewayError('invalid_request', 'missing request body')
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (error) {
    return new GatewayError('invalid_json', `request body is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new GatewayError('invalid_json', 'request body must be a JSON object')
  }
  const fields = parsed as Record<string, unknown>
  if (fields.stream !== undefined && typeof fields.stream !== 'boolean') {
    return new GatewayError('invalid_request', '"stream" must be true or false')
  }
  const stream = fields.stream !== false
  const options = fields.options as { num_predict?: unknown } | undefined
  const predict =
    typeof options?.num_predict === 'number' && options.num_predict > 0 ? Math.ceil(options.num_predict) : undefined
  if (required === 'copy') {
    for (const key of ['source', 'destination']) {
      if (typeof fields[key] !== 'string' || fields[key] === '') {
        return new GatewayError('invalid_request', `"${key}" is required and must be a model name`)
      }
    }
    return { models: [fields.source as string, fields.destination as string], stream, predict }
  }
  // Older clients name the model `name` (pull, push, show, delete); Ollama accepts both.
  const model = fields.model ?? fields.name
  if (required === 'model' && (typeof model !== 'string' || model === '')) {
    return new GatewayError('invalid_request', 'model is required')
  }
  return { models: typeof model === 'string' && model !== '' ? [model] : [], stream, predict }
}
