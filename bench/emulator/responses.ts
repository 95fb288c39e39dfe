// Ollama's newer compatibility endpoints as the emulator answers them: OpenAI's Responses API (POST /v1/responses)
// and Anthropic's Messages API (POST /v1/messages) — whole replies and SSE streams with named events, each with its
// usage where that API puts it (the completed response; message_start and message_delta).
import type { ServerResponse } from 'node:http'
import { countPromptTokens, lookupModel, tokenText } from './catalog.js'
import { sendJson } from './native.js'
import type { OpenAIContext } from './openai.js'
import { sendOpenAIError } from './openai.js'
import { writeStream } from './stream.js'

let sequence = 0

const named = (event: string, value: unknown) => `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`

/**
 * Prompt text, reply length and counts shared by both APIs; undefined once a missing model is answered in the API's
 * own error shape.
 */
function plan(
  context: OpenAIContext,
  maxTokens: unknown,
  sendError: (res: ServerResponse, status: number, message: string) => void,
) {
  const { body, knobs } = context
  const found = lookupModel(context.models, body.model)
  if ('message' in found) {
    sendError(context.res, found.status, found.message)
    context.done()
    return undefined
  }
  const input = body.input ?? body.messages ?? ''
  const prompt = typeof input === 'string' ? input : JSON.stringify(input)
  const count = Math.min(knobs.tokens, typeof maxTokens === 'number' ? maxTokens : Infinity)
  let text = ''
  for (let i = 0; i < count; i++) text += tokenText(i)
  return { count, text, inputTokens: countPromptTokens(prompt), truncated: count < knobs.tokens }
}

export function responses(context: OpenAIContext): void {
  const { res, body } = context
  const planned = plan(context, body.max_output_tokens, sendOpenAIError)
  if (!planned) return
  const { count, text, inputTokens, truncated } = planned
  const id = `resp_${++sequence}`
  const usage = { input_tokens: inputTokens, output_tokens: count, total_tokens: inputTokens + count }
  const message = (content: string) => ({
    type: 'message',
    id: `msg_${sequence}`,
    status: 'completed',
    role: 'assistant',
    content: [{ type: 'output_text', text: content, annotations: [] }],
  })
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: body.model,
    output,
    usage: withUsage ? usage : null,
    ...(truncated ? { incomplete_details: { reason: 'max_output_tokens' } } : {}),
  })
  const status = truncated ? 'incomplete' : 'completed'
  if (body.stream !== true) {
    sendJson(res, 200, response(status, [message(text)], true))
    return context.done()
  }
  let n = 0
  writeStream(
    res,
    context.knobs,
    {
      contentType: 'text/event-stream',
      count,
      piece: (i) =>
        (i === 0
          ? named('response.created', {
              type: 'response.created',
              sequence_number: n++,
              response: response('in_progress', [], false),
            })
          : '') +
        named('response.output_text.delta', {
          type: 'response.output_text.delta',
          sequence_number: n++,
          item_id: `msg_${sequence}`,
          output_index: 0,
          content_index: 0,
          delta: tokenText(i),
        }),
      tail: () =>
        named(`response.${status}`, {
          type: `response.${status}`,
          sequence_number: n++,
          response: response(status, [message(text)], true),
        }),
      errorPiece: (messageText) =>
        named('error', { type: 'error', sequence_number: n++, code: null, message: messageText, param: null }),
    },
    context.done,
  )
}

export function sendAnthropicError(res: ServerResponse, status: number, message: string): void {
  const type = status === 404 ? 'not_found_error' : status === 400 ? 'invalid_request_error' : 'api_error'
  sendJson(res, status, { type: 'error', error: { type, message } })
}

export function messages(context: OpenAIContext): void {
  const { res, body } = context
  const planned = plan(context, body.max_tokens, sendAnthropicError)
  if (!planned) return
  const { count, text, inputTokens, truncated } = planned
  const id = `msg_${++sequence}`
  const stopReason = truncated ? 'max_tokens' : 'end_turn'
  const message = (content: unknown[], outputTokens: number, stop: string | null) => ({
    id,
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: inputTokens, output_tokens: outputTokens },
  })
  if (body.stream !== true) {
    sendJson(res, 200, message([{ type: 'text', text }], count, stopReason))
    return context.done()
  }
  writeStream(
    res,
    context.knobs,
    {
      contentType: 'text/event-stream',
      count,
      piece: (i) =>
        (i === 0
          ? named('message_start', { type: 'message_start', message: message([], 0, null) }) +
            named('content_block_start', {
              type: 'content_block_start',
              index: 0,
              content_block: { type: 'text', text: '' },
            })
          : '') +
        named('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: tokenText(i) },
        }),
      tail: () =>
        named('content_block_stop', { type: 'content_block_stop', index: 0 }) +
        named('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: stopReason, stop_sequence: null },
          usage: { output_tokens: count },
        }) +
        named('message_stop', { type: 'message_stop' }),
      errorPiece: (messageText) =>
        named('error', { type: 'error', error: { type: 'api_error', message: messageText } }),
    },
    context.done,
  )
}
