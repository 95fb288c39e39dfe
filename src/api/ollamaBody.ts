// The fields the gateway itself needs from a native API request body, checked the way Ollama checks them.
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { parseObject, positive, resolveAlias, type RequestFields } from './requestFields.js'

export type RequiredFields = 'model' | 'copy' | 'none'

/** `aliases`: resolve a model alias (inference routes only; managing models by an alias name would mislead). */
export function readOllamaBody(
  body: Buffer,
  required: RequiredFields,
  aliases?: ModelAliases,
): RequestFields | GatewayError {
  const fields = parseObject(body)
  if (fields instanceof GatewayError) return fields
  if (fields.stream !== undefined && typeof fields.stream !== 'boolean') {
    return new GatewayError('invalid_request', '"stream" must be true or false')
  }
  const stream = fields.stream !== false
  const predict = positive((fields.options as { num_predict?: unknown } | undefined)?.num_predict)
  if (required === 'copy') {
    for (const key of ['source', 'destination']) {
      if (typeof fields[key] !== 'string' || fields[key] === '') {
        return new GatewayError('invalid_request', `"${key}" is required and must be a model name`)
      }
    }
    return { models: [fields.source as string, fields.destination as string], stream, predict }
  }
  // Older clients name the model `name` (pull, push, show, delete); Ollama accepts both.
  const key = fields.model !== undefined ? 'model' : 'name'
  if (required === 'model' && (typeof fields[key] !== 'string' || fields[key] === '')) {
    return new GatewayError('invalid_request', 'model is required')
  }
  const alias = resolveAlias(fields, key, aliases)
  const model = fields[key]
  const models = typeof model === 'string' && model !== '' ? [model] : []
  if (alias === undefined) return { models, stream, predict }
  return { models, stream, predict, alias, rewritten: Buffer.from(JSON.stringify(fields)) }
}
