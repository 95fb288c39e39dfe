// The fields the gateway itself needs from a native API request body, read as Ollama's Go decoder reads them (see
// jsonFields.ts): one shape per route, the fields of Ollama's request struct that the gateway decides on.
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { applyEdits, readJsonFields, type FieldSpec, type Found, type ObjectSpec } from './jsonFields.js'
import { modelfileFroms } from './modelfileFrom.js'
import {
  aliasEdit,
  given,
  maxModelNameLength,
  modelName,
  tokenLimit,
  type RequestFields,
  type TokenField,
} from './requestFields.js'

/**
 * Which body a route takes (Ollama's request struct): `generate` and `chat` run a model with options; `embed` runs one
 * without a token limit; `named` and `transfer` (show, delete; pull, push) name one by `model` or the older `name`;
 * `create` names the model made and those it is made from; `copy` a source and a destination.
 */
export type RequiredFields = 'generate' | 'embed' | 'named' | 'transfer' | 'create' | 'copy' | 'none'

const nameBytes = maxModelNameLength * 6
const model: FieldSpec = { name: 'model', type: 'string', maxBytes: nameBytes, lead: 'model is required' }
const name: FieldSpec = { name: 'name', type: 'string', maxBytes: nameBytes }
const stream: FieldSpec = { name: 'stream', type: 'bool' }
/** `options` is a Go map: its keys are exact (Options.FromMap looks num_predict up by its exact name). */
const options: FieldSpec = {
  name: 'options',
  type: 'object',
  object: { fields: [{ name: 'num_predict', type: 'number' }], folds: false, path: 'options.' },
}
/** The largest Modelfile text the gateway reads for FROM lines. */
const maxModelfileBytes = 4 * 1024 * 1024

const shapes: Record<Exclude<RequiredFields, 'none'>, ObjectSpec> = {
  generate: { fields: [model, stream, options], folds: true },
  embed: { fields: [model], folds: true },
  named: { fields: [model, name], folds: true },
  transfer: { fields: [model, name, stream], folds: true },
  create: {
    fields: [
      model,
      name,
      stream,
      { name: 'from', type: 'string', maxBytes: nameBytes },
      { name: 'modelfile', type: 'string', maxBytes: maxModelfileBytes },
      { name: 'path', type: 'string' },
      // Named by digest or address, not by model name: no allow-list can say what they hold or reach.
      { name: 'files', type: 'object' },
      { name: 'adapters', type: 'object' },
      { name: 'remote_host', type: 'string' },
    ],
    folds: true,
  },
  copy: {
    fields: [
      { name: 'source', type: 'string', maxBytes: nameBytes },
      { name: 'destination', type: 'string', maxBytes: nameBytes },
    ],
    folds: true,
  },
}

/** `aliases`: resolve a model alias (inference routes only; managing models by an alias name would mislead). */
export function readOllamaBody(
  body: Buffer,
  required: RequiredFields,
  aliases?: ModelAliases,
): RequestFields | GatewayError {
  if (required === 'none') {
    const read = readJsonFields(body, { fields: [], folds: true })
    return read instanceof GatewayError ? read : { models: [], stream: false, predict: undefined }
  }
  const found = readJsonFields(body, shapes[required])
  if (found instanceof GatewayError) return found
  switch (required) {
    case 'generate':
    case 'embed':
      return runs(body, found, required, aliases)
    case 'copy':
      return copies(found)
    default:
      return names(found, required)
  }
}

/** generate, chat, embed, embeddings: the model (an alias resolved), streaming, options.num_predict. */
function runs(
  body: Buffer,
  found: Found,
  shape: 'generate' | 'embed',
  aliases: ModelAliases | undefined,
): RequestFields | GatewayError {
  const named = modelName(found[0], 'model')
  if (named instanceof GatewayError) return named
  if (named === undefined) return new GatewayError('invalid_request', 'model is required ("model": a model name)')
  let predict: number | undefined
  let stream = false
  let tokenField: TokenField | undefined
  if (shape === 'generate') {
    stream = found[1]?.value !== false
    const inner = given(found[2])?.value as Found | undefined
    const limit = tokenLimit(inner?.[0], 'options.num_predict', false)
    if (limit instanceof GatewayError) return limit
    predict = limit
    tokenField = { name: 'num_predict', value: inner?.[0], options: found[2], inOptions: true }
  }
  const alias = aliasEdit(named, found[0]!, aliases)
  if (alias === undefined) return { models: [named], stream, predict, tokenField }
  const edits = [alias.edit]
  return {
    models: [alias.target],
    stream,
    predict,
    tokenField,
    alias: named,
    edits,
    rewritten: applyEdits(body, edits),
  }
}

/** show, delete, pull, push, create: the model is `model`, or `name` when model is empty (Go's cmp.Or). */
function names(found: Found, shape: RequiredFields): RequestFields | GatewayError {
  const target = modelName(found[0], 'model') ?? modelName(found[1], 'name')
  if (target instanceof GatewayError) return target
  // `name` is read even when `model` wins: a bad one is refused the same way whichever Ollama would use.
  const other = modelName(found[1], 'name')
  if (other instanceof GatewayError) return other
  if (target === undefined) return new GatewayError('invalid_request', 'model is required ("model": a model name)')
  const stream = shape === 'named' ? false : found[2]?.value !== false
  const models = [target]
  if (shape === 'create') {
    const from = modelName(found[3], 'from')
    if (from instanceof GatewayError) return from
    if (from !== undefined) models.push(from)
    const modelfile = given(found[4])?.value as string | undefined
    if (modelfile) {
      const froms = modelfileFroms(modelfile)
      if (froms instanceof GatewayError) return froms
      for (const value of froms) {
        const checked = modelName({ kind: 'string', value, start: 0, end: 0 }, 'modelfile: FROM')
        if (checked instanceof GatewayError) return checked
        if (checked !== undefined) models.push(checked)
      }
    }
    if (given(found[5])?.value) {
      return new GatewayError(
        'invalid_request',
        '"path" is not accepted: it names a Modelfile on the server, which the gateway cannot check; send "from" (or the Modelfile text)',
      )
    }
    const unchecked = ['files', 'adapters', 'remote_host'].find((_, index) => given(found[6 + index]) !== undefined)
    if (unchecked !== undefined) return { models, stream, predict: undefined, unchecked }
  }
  return { models, stream, predict: undefined }
}

/** copy: the source and the destination, both required, both checked against the allow-list. */
function copies(found: Found): RequestFields | GatewayError {
  const models: string[] = []
  for (const [index, key] of ['source', 'destination'].entries()) {
    const named = modelName(found[index], key)
    if (named instanceof GatewayError) return named
    if (named === undefined) return new GatewayError('invalid_request', `"${key}" is required and must be a model name`)
    models.push(named)
  }
  return { models, stream: false, predict: undefined }
}
