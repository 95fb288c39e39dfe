// Ollama's native API as the emulator answers it: field names, NDJSON framing, stream:false, metrics omitted when zero.
import type { ServerResponse } from 'node:http'
import {
  countPromptTokens,
  embeddingVector,
  lookupModel,
  modelDetails,
  tokenText,
  type EmulatedModel,
} from './catalog.js'
import type { Knobs } from './options.js'
import type { OpenAIContext } from './openai.js'
import { writeStream } from './stream.js'

/**
 * The /v1 handlers' context, which the native ones share; `registry`: the names a pull finds (undefined: any valid
 * name, as if the registry had every model).
 */
export type NativeContext = OpenAIContext & { registry?: ReadonlySet<string> }

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

/** A whole reply whose connection drops halfway through the declared body. */
function sendHalfThenReset(res: ServerResponse, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value))
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length })
  res.write(body.subarray(0, body.length >> 1))
  setTimeout(() => res.socket?.destroy(), 20)
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: message })
}

const ndjson = 'application/x-ndjson'
const ms = 1_000_000

function findModel(context: NativeContext, name: unknown): EmulatedModel | undefined {
  const found = lookupModel(context.models, name)
  if ('message' in found) return void sendError(context.res, found.status, found.message)
  return found
}

/** Durations and counts of a reply, each omitted when zero, as Go's omitempty does. */
function metrics(promptTokens: number, evalTokens: number): Record<string, number> {
  const result: Record<string, number> = { total_duration: (evalTokens + promptTokens + 5) * ms, load_duration: 2 * ms }
  if (promptTokens > 0)
    Object.assign(result, { prompt_eval_count: promptTokens, prompt_eval_duration: promptTokens * ms })
  if (evalTokens > 0) Object.assign(result, { eval_count: evalTokens, eval_duration: evalTokens * 10 * ms })
  return result
}

function replyLength(knobs: Knobs, options: unknown): { count: number; reason: string } {
  const limit = (options as { num_predict?: unknown } | undefined)?.num_predict
  if (typeof limit === 'number' && limit >= 0 && limit < knobs.tokens) return { count: limit, reason: 'length' }
  return { count: knobs.tokens, reason: 'stop' }
}

export function generate(context: NativeContext, chat: boolean): void {
  const { res, body, knobs } = context
  const entry = findModel(context, body.model)
  if (!entry) return context.done()
  const created = () => new Date().toISOString()
  const prompt = chat ? chatText(body.messages) : typeof body.prompt === 'string' ? body.prompt : ''
  if (!chat && prompt === '' && !body.messages) {
    sendJson(res, 200, { model: body.model, created_at: created(), response: '', done: true, done_reason: 'load' })
    return context.done()
  }
  // Ollama answers a chat without messages by loading the model only; the unlimited emulator has always generated a
  // reply for it, and tests that count tokens on such a chat rely on that.
  const noMessages = !Array.isArray(body.messages) || body.messages.length === 0
  if (chat && noMessages && context.scheduler.limited) {
    const message = { role: 'assistant', content: '' }
    sendJson(res, 200, { model: body.model, created_at: created(), message, done: true, done_reason: 'load' })
    return context.done()
  }
  const { count, reason } = replyLength(knobs, body.options)
  const promptTokens = countPromptTokens(prompt)
  const content = (text: string) => (chat ? { message: { role: 'assistant', content: text } } : { response: text })
  // A model's tool call can hold anything, counts included (Ollama's arguments are an object, not a string).
  const decoy = { tool_calls: [{ function: { name: 'f', arguments: { prompt_eval_count: -5, eval_count: -100000 } } }] }
  const final = (text: string) => ({
    model: body.model,
    created_at: created(),
    ...(knobs.decoyCounts && chat ? { message: { role: 'assistant', content: text, ...decoy } } : content(text)),
    ...(knobs.decoyCounts && !chat ? { response: text + '"prompt_eval_count":-5', ...decoy } : {}),
    done: true,
    done_reason: reason,
    ...(chat ? {} : { context: Array.from({ length: promptTokens + count }, (_, i) => 128000 + i) }),
    ...metrics(knobs.decoyCounts ? 0 : promptTokens, count),
  })
  if (body.stream === false) {
    let text = ''
    for (let i = 0; i < count; i++) text += tokenText(i)
    if (knobs.fault === 'reset_mid_stream') sendHalfThenReset(res, final(text))
    else sendJson(res, 200, final(text))
    return context.done()
  }
  writeStream(
    res,
    knobs,
    {
      contentType: ndjson,
      count,
      piece: (i) =>
        JSON.stringify({ model: body.model, created_at: created(), ...content(tokenText(i)), done: false }) + '\n',
      tail: () => JSON.stringify(final('')) + '\n',
      errorPiece: (message) => JSON.stringify({ error: message }) + '\n',
    },
    context.done,
  )
}

function chatText(messages: unknown): string {
  if (!Array.isArray(messages)) return ''
  return messages.map((message) => (typeof message?.content === 'string' ? message.content : '')).join(' ')
}

export function embed(context: NativeContext): void {
  const { res, body, knobs } = context
  const entry = findModel(context, body.model)
  if (!entry) return context.done()
  const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input ?? '']
  if (!inputs.every((input) => typeof input === 'string')) {
    sendError(res, 400, 'invalid input type')
    return context.done()
  }
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : knobs.dimensions
  const promptTokens = inputs.reduce<number>((sum, input) => sum + countPromptTokens(input), 0)
  sendJson(res, 200, {
    model: body.model,
    embeddings: inputs.map((input) => embeddingVector(input, dimensions)),
    total_duration: (promptTokens + 3) * ms,
    load_duration: ms,
    ...(promptTokens > 0 ? { prompt_eval_count: promptTokens } : {}),
  })
  context.done()
}

export function legacyEmbeddings(context: NativeContext): void {
  const entry = findModel(context, context.body.model)
  if (entry)
    sendJson(context.res, 200, {
      embedding: embeddingVector(String(context.body.prompt ?? ''), context.knobs.dimensions),
    })
  context.done()
}

function describe(entry: EmulatedModel) {
  return {
    name: entry.name,
    model: entry.name,
    modified_at: entry.modifiedAt ?? '2026-10-01T12:00:00.000000000Z',
    size: entry.size,
    digest: entry.digest,
    details: modelDetails(entry),
  }
}

export function tags(context: NativeContext): void {
  sendJson(context.res, 200, { models: [...context.models.values()].map(describe) })
  context.done()
}

/** Far future for a model kept forever: Go's time.Now().Add(math.MaxInt64), about 292 years on. */
const foreverMs = 9_223_372_036_854

/** What is in memory, as the scheduler has it, with the catalog's size and digest. */
export function ps(context: NativeContext): void {
  const now = context.scheduler.now()
  const loaded = context.scheduler.loaded().flatMap(({ model, expiresAt }) => {
    const entry = context.models.get(model)
    if (!entry) return []
    return [
      {
        name: entry.name,
        model: entry.name,
        size: entry.size,
        digest: entry.digest,
        details: modelDetails(entry),
        expires_at: new Date(expiresAt === Infinity ? now + foreverMs : expiresAt).toISOString(),
        size_vram: entry.size,
        context_length: 4096,
      },
    ]
  })
  sendJson(context.res, 200, { models: loaded })
  context.done()
}

export function show(context: NativeContext): void {
  const entry = findModel(context, context.body.model ?? context.body.name)
  if (entry) {
    sendJson(context.res, 200, {
      modelfile: `# Modelfile generated by the emulator\nFROM ${entry.name}\n`,
      parameters: 'stop "<|eot_id|>"',
      template: '{{ .Prompt }}',
      details: modelDetails(entry),
      model_info: { 'general.architecture': entry.family, 'general.parameter_count': entry.size },
      capabilities: entry.embedding ? ['embedding'] : ['completion', 'tools'],
    })
  }
  context.done()
}
