// Ollama's OpenAI-compatible /v1 endpoints as the emulator answers them: SSE framing, `[DONE]`, and usage only when
// the request set stream_options.include_usage (then one extra `choices: []` chunk before `[DONE]`).
import type { ServerResponse } from 'node:http'
import {
  countPromptTokens,
  embeddingVector,
  lookupModel,
  normalizeName,
  tokenText,
  type EmulatedModel,
} from './catalog.js'
import type { Knobs } from './options.js'
import { sendJson } from './native.js'
import type { OllamaScheduler } from './scheduler.js'
import { writeStream } from './stream.js'

/** What a handler gets: the request's body and knobs, the emulator's models and scheduler, `done` to call once answered. */
export interface OpenAIContext {
  res: ServerResponse
  body: Record<string, any>
  knobs: Knobs
  models: Map<string, EmulatedModel>
  /** What is loaded and what waits (/api/ps reads it). */
  scheduler: OllamaScheduler
  done: () => void
}

export function sendOpenAIError(res: ServerResponse, status: number, message: string): void {
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error'
  sendJson(res, status, { error: { message, type, param: null, code: null } })
}

function findModel(context: OpenAIContext): EmulatedModel | undefined {
  const found = lookupModel(context.models, context.body.model)
  if ('message' in found) return void sendOpenAIError(context.res, found.status, found.message)
  return found
}

let sequence = 0

export function completions(context: OpenAIContext, chat: boolean): void {
  const { res, body, knobs } = context
  if (!findModel(context)) return context.done()
  const prompt = chat
    ? (Array.isArray(body.messages) ? body.messages : [])
        .map((message: any) => String(message?.content ?? ''))
        .join(' ')
    : String(body.prompt ?? '')
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity
  const count = Math.min(knobs.tokens, maxTokens)
  const finishReason = count < knobs.tokens ? 'length' : 'stop'
  const usage = { prompt_tokens: countPromptTokens(prompt), completion_tokens: count, total_tokens: 0 }
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${++sequence}`
  const created = Math.floor(Date.now() / 1000)
  const base = {
    id,
    object: chat ? 'chat.completion' : 'text_completion',
    created,
    model: body.model,
    system_fingerprint: 'fp_ollama',
  }

  if (body.stream !== true) {
    let text = ''
    for (let i = 0; i < count; i++) text += tokenText(i)
    const choice = chat
      ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason }
      : { text, index: 0, finish_reason: finishReason }
    sendJson(res, 200, { ...base, choices: [choice], usage })
    return context.done()
  }

  const includeUsage = body.stream_options?.include_usage === true
  const chunkBase = { ...base, object: chat ? 'chat.completion.chunk' : 'text_completion' }
  const zeroUsage = !chat && includeUsage ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } : {}
  const choice = (text: string, reason: string | null) =>
    chat
      ? { index: 0, delta: { role: 'assistant', content: text }, finish_reason: reason }
      : { text, index: 0, finish_reason: reason }
  const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`
  writeStream(
    res,
    knobs,
    {
      contentType: 'text/event-stream',
      count,
      piece: (i) => event({ ...chunkBase, choices: [choice(tokenText(i), null)], ...zeroUsage }),
      tail: () =>
        event({ ...chunkBase, choices: [choice('', finishReason)], ...zeroUsage }) +
        (includeUsage ? event({ ...chunkBase, choices: [], usage }) : '') +
        'data: [DONE]\n\n',
      errorPiece: (message) => event({ error: { message, type: 'api_error', param: null, code: null } }),
      hugeEvent: event({ ...chunkBase, choices: [choice('\u0000', null)] }).split('\\u0000') as [string, string],
    },
    context.done,
  )
}

export function embeddings(context: OpenAIContext): void {
  const { res, body, knobs } = context
  if (!findModel(context)) return context.done()
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input]
  if (!inputs.every((input) => typeof input === 'string')) {
    sendOpenAIError(res, 400, 'invalid input type')
    return context.done()
  }
  const tokens = inputs.reduce<number>((sum, input) => sum + countPromptTokens(input), 0)
  sendJson(res, 200, {
    object: 'list',
    data: inputs.map((input, index) => ({
      object: 'embedding',
      embedding: encoded(embeddingVector(input, knobs.dimensions), body.encoding_format),
      index,
    })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
  context.done()
}

/** `encoding_format: "base64"` (what the openai SDK asks for by default): little-endian float32s, base64. */
function encoded(vector: number[], format: unknown): number[] | string {
  return format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector
}

function modelObject(entry: EmulatedModel) {
  return { id: entry.name, object: 'model', created: 1759320000, owned_by: 'library' }
}

export function listModels(context: OpenAIContext): void {
  sendJson(context.res, 200, { object: 'list', data: [...context.models.values()].map(modelObject) })
  context.done()
}

export function getModel(context: OpenAIContext, name: string): void {
  const entry = context.models.get(normalizeName(name))
  if (entry) sendJson(context.res, 200, modelObject(entry))
  else sendOpenAIError(context.res, 404, `model "${name}" not found`)
  context.done()
}
