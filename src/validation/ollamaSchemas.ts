// The request bodies of Ollama's native API, field by field as Ollama's request structs (api/types.go) declare them:
// what Go's decoder refuses (a string where an int is, a fraction in an int, an array where a string is) is refused
// here first, with the field's JSON pointer; ranges are added only where a value has no meaning (a negative
// temperature, a top_p above 1), never where Ollama gives one (top_k <= 0 means "no limit" to its sampler).
import {
  arrayOf,
  atLeast,
  bool,
  either,
  goDuration,
  integer,
  notNull,
  number,
  object,
  oneOfStrings,
  range,
  string,
  stringArray,
  struct,
  shared,
  type Schema,
} from './schemaParts.js'

/**
 * options: a Go map, read by Options.FromMap: its int fields take any number (truncated: 1.5 is 1), its floats any
 * number, its bools only true/false, `stop` only an array of strings; an unknown option is ignored (logged), null
 * skipped. num_predict: a whole number from -2 (fill the context) up, as the gateway's token limits require.
 */
const options: Schema = shared(
  'ollama-options',
  struct({
    num_predict: { type: ['integer', 'null'], minimum: -2, maximum: 2 ** 31 - 1 },
    temperature: atLeast(0),
    top_p: range(0, 1),
    min_p: range(0, 1),
    typical_p: number,
    top_k: number,
    seed: number,
    num_keep: number,
    num_ctx: atLeast(0),
    num_batch: atLeast(0),
    num_gpu: number,
    main_gpu: number,
    num_thread: atLeast(0),
    repeat_last_n: number,
    repeat_penalty: number,
    presence_penalty: number,
    frequency_penalty: number,
    mirostat: number,
    mirostat_tau: number,
    mirostat_eta: number,
    penalize_newline: bool,
    numa: bool,
    low_vram: bool,
    f16_kv: bool,
    logits_all: bool,
    vocab_only: bool,
    use_mmap: bool,
    use_mlock: bool,
    stop: stringArray,
  }),
)

/** format: "json", "" (none) or a JSON Schema object (json.RawMessage, then checked by Ollama's handler). */
const format: Schema = either('"json" or a JSON Schema object', { enum: ['json', '', null] }, { type: 'object' })

/** think: a bool, or an effort level (api.ThinkValue). */
const think: Schema = either('true, false or one of "high", "medium", "low"', bool, {
  enum: ['high', 'medium', 'low'],
})

/** images: base64 strings (Go's []byte); their decoding is left to Ollama (an image is where bodies grow large). */
const images: Schema = stringArray

/** A tool's parameters as api.ToolFunction declares them: a JSON Schema object whose typed parts Go decodes. */
const toolParameters: Schema = struct({
  type: string,
  required: stringArray,
  properties: {
    type: ['object', 'null'],
    additionalProperties: struct({
      type: either('a type name or an array of type names', string, { type: 'array', items: { type: 'string' } }),
      description: string,
      enum: { type: ['array', 'null'] },
    }),
  },
})

/** A tool the model may call: a function with a name (its `type` is "function"). */
export const tool: Schema = shared(
  'tool',
  struct(
    {
      type: oneOfStrings(['function']),
      function: struct({ name: string, description: string, parameters: toolParameters }, ['name']),
    },
    ['function'],
  ),
)

/** A call the model made (a chat message's tool_calls): its arguments are an object on the native API. */
const toolCall: Schema = struct({
  function: struct({ index: integer, name: string, arguments: object }),
})

/** A chat message (api.Message). */
const message: Schema = shared(
  'ollama-message',
  struct(
    {
      role: oneOfStrings(['system', 'user', 'assistant', 'tool']),
      content: string,
      thinking: string,
      images,
      tool_calls: arrayOf(notNull(toolCall)),
      tool_name: string,
      tool_call_id: string,
    },
    ['role'],
  ),
)

/** Fields of the requests that load a model. */
const runs = { model: string, keep_alive: goDuration, options, truncate: bool }

export const generate: Schema = struct({
  ...runs,
  prompt: string,
  suffix: string,
  system: string,
  template: string,
  context: arrayOf({ type: 'integer' }),
  stream: bool,
  raw: bool,
  format,
  images,
  think,
  shift: bool,
  logprobs: bool,
  top_logprobs: integer,
})

export const chat: Schema = struct({
  ...runs,
  messages: arrayOf(notNull(message)),
  tools: arrayOf(notNull(tool)),
  stream: bool,
  format,
  think,
  shift: bool,
  logprobs: bool,
  top_logprobs: integer,
})

/** embed's input: a string or an array of strings (the handler refuses anything else). */
export const embed: Schema = struct({
  ...runs,
  input: either('a string or an array of strings', string, { type: 'array', items: { type: 'string' } }),
  dimensions: { type: ['integer', 'null'], minimum: 0, maximum: 2 ** 31 - 1 },
})

export const embeddings: Schema = struct({ ...runs, prompt: string })

const named = { model: string, name: string }

export const show: Schema = struct({ ...named, system: string, template: string, verbose: bool, options: object })
export const deleteModel: Schema = struct(named)

/** pull and push. */
export const transfer: Schema = struct({ ...named, insecure: bool, username: string, password: string, stream: bool })

export const create: Schema = struct({
  ...named,
  from: string,
  modelfile: string,
  path: string,
  stream: bool,
  quantize: string,
  quantization: string,
  remote_host: string,
  files: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
  adapters: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
  template: string,
  license: either('a string or an array of strings', string, { type: 'array', items: { type: 'string' } }),
  system: string,
  parameters: object,
  messages: arrayOf(notNull(message)),
  renderer: string,
  parser: string,
  info: object,
})

export const copy: Schema = struct({ source: string, destination: string })

/** By route name (routeTable.ts, api `ollama`). */
export const ollamaSchemas: Readonly<Record<string, Schema>> = {
  generate,
  chat,
  embed,
  embeddings,
  show,
  pull: transfer,
  push: transfer,
  create,
  copy,
  delete: deleteModel,
}
