// The request bodies of the OpenAI-style routes (/v1 chat/completions, completions, embeddings, responses, and the
// Anthropic-style messages), as the larger of the two contracts a client may have been written against: what OpenAI
// (or Anthropic) documents and what Ollama's Go structs (openai/openai.go) decode. A value either of them takes passes;
// a value both refuse (a role no one knows, a temperature of 7, a string for `n`) is refused here with its pointer,
// before it costs a limit or reaches a backend.
import { tool } from './ollamaSchemas.js'
import {
  arrayOf,
  bool,
  either,
  integer,
  integerRange,
  notNull,
  object,
  oneOfStrings,
  range,
  string,
  stringArray,
  struct,
  shared,
  type Schema,
} from './schemaParts.js'

/** A content part of a chat message (OpenAI's types; Ollama reads text and image_url, OpenAI the others too). */
const contentPart: Schema = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['text', 'image_url', 'input_audio', 'file', 'refusal'] } },
  allOf: [
    { if: { properties: { type: { const: 'text' } } }, then: { properties: { text: { type: 'string' } } } },
    {
      if: { properties: { type: { const: 'image_url' } } },
      then: {
        required: ['image_url'],
        properties: {
          image_url: either(
            'an image URL, or an object with its "url"',
            { type: 'string' },
            {
              type: 'object',
              required: ['url'],
              properties: { url: { type: 'string' }, detail: { enum: ['auto', 'low', 'high'] } },
            },
          ),
        },
      },
    },
  ],
}

/** A message's content: a string, or an array of content parts. */
const content: Schema = either('a string or an array of content parts', string, {
  type: 'array',
  items: contentPart,
})

/** A call the assistant made: its arguments are a JSON string on OpenAI's API. */
const toolCall: Schema = struct({
  id: string,
  type: oneOfStrings(['function']),
  function: struct({ name: string, arguments: string }),
})

const chatMessage: Schema = shared(
  'openai-message',
  struct(
    {
      role: oneOfStrings(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
      content,
      name: string,
      tool_calls: arrayOf(notNull(toolCall)),
      tool_call_id: string,
      reasoning: string,
    },
    ['role'],
  ),
)

/** `stop`: one string or an array of strings. */
const stop: Schema = either('a string or an array of strings', string, { type: 'array', items: { type: 'string' } })

/** response_format: text, json_object, or json_schema (with its schema). */
const responseFormat: Schema = struct(
  {
    type: oneOfStrings(['text', 'json_object', 'json_schema']),
    json_schema: struct({ name: string, schema: object, strict: bool }),
  },
  ['type'],
)

/** Sampling fields OpenAI's generating routes share, with OpenAI's ranges. */
const sampling = {
  model: string,
  stream: bool,
  stream_options: struct({ include_usage: bool }),
  temperature: range(0, 2),
  top_p: range(0, 1),
  presence_penalty: range(-2, 2),
  frequency_penalty: range(-2, 2),
  n: integerRange(1, 128),
  seed: integer,
  stop,
  user: string,
  logit_bias: object,
}

/** A prompt: a string, strings, token ids, or arrays of token ids (OpenAI's four forms). */
const prompt: Schema = either('a string, an array of strings, or token ids', string, {
  type: 'array',
  items: { anyOf: [{ type: 'string' }, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
})

export const chatCompletions: Schema = struct(
  {
    ...sampling,
    messages: { type: 'array', items: chatMessage },
    max_tokens: integer,
    max_completion_tokens: integer,
    response_format: responseFormat,
    tools: arrayOf(notNull(toolWithCustom())),
    tool_choice: either(
      '"none", "auto", "required" or an object naming a tool',
      oneOfStrings(['none', 'auto', 'required']),
      {
        type: 'object',
      },
    ),
    parallel_tool_calls: bool,
    logprobs: bool,
    top_logprobs: integerRange(0, 20),
    reasoning_effort: string,
  },
  ['messages'],
)

export const completions: Schema = struct(
  {
    ...sampling,
    prompt,
    suffix: string,
    max_tokens: integer,
    echo: bool,
    best_of: integerRange(0, 20),
    logprobs: integerRange(0, 5),
  },
  ['prompt'],
)

export const embeddings: Schema = struct(
  {
    model: string,
    input: prompt,
    encoding_format: oneOfStrings(['float', 'base64']),
    dimensions: integerRange(1, 2 ** 31 - 1),
    user: string,
  },
  ['input'],
)

/** /v1/responses: input as a string or items; the fields Ollama reads typed. */
export const responses: Schema = struct({
  model: string,
  input: either('a string or an array of input items', string, { type: 'array', items: { type: 'object' } }),
  instructions: string,
  stream: bool,
  temperature: range(0, 2),
  top_p: range(0, 1),
  max_output_tokens: integer,
  tools: arrayOf({ type: 'object' }),
  previous_response_id: string,
  store: bool,
})

/** An Anthropic-style message: user or assistant, its content a string or an array of content blocks. */
const anthropicMessage: Schema = struct(
  {
    role: oneOfStrings(['user', 'assistant']),
    content: either('a string or an array of content blocks', string, {
      type: 'array',
      items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    }),
  },
  ['role'],
)

/** /v1/messages, Anthropic's shape: max_tokens is required there (and a Go int in Ollama). */
export const messages: Schema = struct(
  {
    model: string,
    messages: { type: 'array', items: anthropicMessage },
    max_tokens: integer,
    system: either('a string or an array of text blocks', string, { type: 'array', items: { type: 'object' } }),
    stream: bool,
    temperature: range(0, 1),
    top_p: range(0, 1),
    top_k: integerRange(0, 2 ** 31 - 1),
    stop_sequences: stringArray,
    tools: arrayOf({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } }),
  },
  ['messages', 'max_tokens'],
)

/** A chat tool: a function (typed as Ollama decodes it), or OpenAI's custom tool (free-form, its own shape). */
function toolWithCustom(): Schema {
  return {
    if: { properties: { type: { const: 'custom' } }, required: ['type'] },
    then: { type: 'object', required: ['custom'], properties: { custom: { type: 'object' } } },
    else: tool,
  }
}

/** By route name (routeTable.ts, api `openai`). */
export const openAiSchemas: Readonly<Record<string, Schema>> = {
  chat_completions: chatCompletions,
  completions,
  embeddings,
  responses,
  messages,
}
