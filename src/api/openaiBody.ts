// The fields the gateway needs from an OpenAI-style request body (/v1 chat, completions, embeddings, responses, and
// Anthropic-style messages), and the one change streamed chat and completions always need: usage must be asked for
// upstream (stream_options.include_usage), or Ollama reports no token counts at all.
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { parseObject, positive, resolveAlias, type RequestFields } from './requestFields.js'

/** Which body: chat/completions take stream_options; the others only a model and their own token limit field. */
export type OpenAiBody = 'completions' | 'embeddings' | 'responses' | 'messages'

export function readOpenAiBody(body: Buffer, kind: OpenAiBody, aliases: ModelAliases): RequestFields | GatewayError {
  const fields = parseObject(body)
  if (fields instanceof GatewayError) return fields
  if (typeof fields.model !== 'string' || fields.model === '') {
    return new GatewayError('invalid_request', 'you must provide a model parameter ("model": a model name)')
  }
  if (fields.stream !== undefined && fields.stream !== null && typeof fields.stream !== 'boolean') {
    return new GatewayError('invalid_request', '"stream" must be true or false')
  }
  const stream = fields.stream === true
  const alias = resolveAlias(fields, 'model', aliases)
  let changed = alias !== undefined
  const predict = positive(
    kind === 'responses' ? fields.max_output_tokens : (fields.max_completion_tokens ?? fields.max_tokens),
  )
  let clientWantsUsage: boolean | undefined
  if (kind === 'completions' && stream) {
    const options = fields.stream_options
    if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
      return new GatewayError('invalid_request', '"stream_options" must be an object')
    }
    clientWantsUsage = (options as { include_usage?: unknown } | null | undefined)?.include_usage === true
    if (!clientWantsUsage) {
      fields.stream_options = { ...options, include_usage: true }
      changed = true
    }
  }
  const fieldsRead: RequestFields = { models: [fields.model], stream, predict }
  if (alias !== undefined) fieldsRead.alias = alias
  if (clientWantsUsage !== undefined) fieldsRead.clientWantsUsage = clientWantsUsage
  if (changed) fieldsRead.rewritten = Buffer.from(JSON.stringify(fields))
  return fieldsRead
}
