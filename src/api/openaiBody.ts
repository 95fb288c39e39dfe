// The fields the gateway needs from an OpenAI-style request body (/v1 chat, completions, embeddings, responses, and
// Anthropic-style messages), read as Ollama's Go decoder reads them (jsonFields.ts), and the one change streamed chat
// and completions always need: usage must be asked for upstream (stream_options.include_usage), or Ollama reports no
// token counts at all. Changes are made in place in the bytes: the rest of the body reaches Ollama as the client sent
// it.
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { applyEdits, readJsonFields, type Edit, type FieldSpec, type Found, type ObjectSpec } from './jsonFields.js'
import { aliasEdit, given, maxModelNameLength, modelName, tokenLimit, type RequestFields } from './requestFields.js'

/** Which body: chat/completions take stream_options; the others only a model and their own token limit field. */
export type OpenAiBody = 'completions' | 'embeddings' | 'responses' | 'messages'

const model: FieldSpec = {
  name: 'model',
  type: 'string',
  maxBytes: maxModelNameLength * 6,
  lead: 'you must provide a model parameter',
}
const stream: FieldSpec = { name: 'stream', type: 'bool' }
/** A Go struct (*StreamOptions): its keys fold like the top level's. */
const streamOptions: FieldSpec = {
  name: 'stream_options',
  type: 'object',
  object: { fields: [{ name: 'include_usage', type: 'bool' }], folds: true, path: 'stream_options.' },
}

/**
 * The fields by body, in this order: model, stream, then the token limit Ollama applies (decoded into a Go int), then
 * what else the gateway reads. max_completion_tokens is not read by Ollama (it applies max_tokens only): it is checked
 * like a token limit but not reserved from.
 */
const shapes: Record<OpenAiBody, ObjectSpec> = {
  completions: {
    fields: [
      model,
      stream,
      { name: 'max_tokens', type: 'int' },
      streamOptions,
      { name: 'max_completion_tokens', type: 'int' },
    ],
    folds: true,
  },
  embeddings: { fields: [model], folds: true },
  responses: { fields: [model, stream, { name: 'max_output_tokens', type: 'int' }], folds: true },
  messages: { fields: [model, stream, { name: 'max_tokens', type: 'int' }], folds: true },
}

export function readOpenAiBody(body: Buffer, kind: OpenAiBody, aliases: ModelAliases): RequestFields | GatewayError {
  const spec = shapes[kind]
  const found = readJsonFields(body, spec)
  if (found instanceof GatewayError) return found
  const named = modelName(found[0], 'model')
  if (named instanceof GatewayError) return named
  if (named === undefined) {
    return new GatewayError('invalid_request', 'you must provide a model parameter ("model": a model name)')
  }
  let predict: number | undefined
  if (kind !== 'embeddings') {
    const limit = tokenLimit(found[2], spec.fields[2]!.name, true)
    if (limit instanceof GatewayError) return limit
    predict = limit
  }
  if (kind === 'completions') {
    const other = tokenLimit(found[4], 'max_completion_tokens', true)
    if (other instanceof GatewayError) return other
  }
  // Go's bool: null leaves it false.
  const stream = found[1]?.value === true
  const edits: Edit[] = []
  const alias = aliasEdit(named, found[0]!, aliases)
  if (alias) edits.push(alias.edit)
  const fields: RequestFields = { models: [alias?.target ?? named], stream, predict }
  if (kind !== 'embeddings') {
    fields.tokenField = { name: spec.fields[2]!.name, value: found[2], inOptions: false }
    if (kind === 'completions') fields.tokenField.other = found[4]
  }
  if (alias) fields.alias = named
  if (kind === 'completions' && stream) {
    fields.clientWantsUsage = askForUsage(body, found, edits)
  }
  if (edits.length > 0) {
    fields.edits = edits
    fields.rewritten = applyEdits(body, edits)
  }
  return fields
}

/**
 * Whether the client asked for the usage chunk itself; when it did not, the edit that asks for it: include_usage set
 * to true where it is false or null, added to stream_options, or stream_options added (or put where it is null).
 */
function askForUsage(body: Buffer, found: Found, edits: Edit[]): boolean {
  const options = found[3]
  if (options === undefined) {
    const open = body.indexOf(0x7b)
    edits.push({ start: open + 1, end: open + 1, text: '"stream_options":{"include_usage":true},' })
    return false
  }
  if (options.kind === 'null') {
    edits.push({ start: options.start, end: options.end, text: '{"include_usage":true}' })
    return false
  }
  const includeUsage = (options.value as Found)[0]
  if (given(includeUsage)?.value === true) return true
  if (includeUsage !== undefined) {
    edits.push({ start: includeUsage.start, end: includeUsage.end, text: 'true' })
    return false
  }
  let first = options.start + 1
  while (body[first] === 0x20 || body[first] === 0x0a || body[first] === 0x0d || body[first] === 0x09) first++
  const empty = body[first] === 0x7d
  edits.push({ start: options.start + 1, end: options.start + 1, text: `"include_usage":true${empty ? '' : ','}` })
  return false
}
