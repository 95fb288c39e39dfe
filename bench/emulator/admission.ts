// The inference routes' way through the emulator's scheduler, in the order Ollama's handlers take it: an unknown model
// or a bad keep_alive is answered before any waiting; an empty generate/chat with keep_alive 0 unloads the model and
// waits for nothing; everything else takes a place in the queue (or Ollama's 503 when it is full) and runs once it
// holds a slot, which it keeps until its reply ends or its client goes away.
import type { ServerResponse } from 'node:http'
import { lookupModel, type EmulatedModel } from './catalog.js'
import { readKeepAlive } from './keepAlive.js'
import { sendError, sendJson } from './native.js'
import { sendOpenAIError } from './openai.js'
import { sendAnthropicError } from './responses.js'
import type { OllamaScheduler, Ticket } from './scheduler.js'

/** Routes that run a model, each through the scheduler (Ollama's GetRunner); metadata routes never wait. */
export const inferencePaths = new Set([
  '/api/generate',
  '/api/chat',
  '/api/embed',
  '/api/embeddings',
  '/v1/chat/completions',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/responses',
  '/v1/messages',
])

const busy = 'server busy, please try again.  maximum pending requests exceeded'

/** Ollama's 503 when its queue is full, shaped by each API's middleware. */
export function sendBusy(res: ServerResponse, path: string): void {
  if (path.startsWith('/v1/messages')) sendAnthropicError(res, 503, busy)
  else if (path.startsWith('/v1/')) sendOpenAIError(res, 503, busy)
  else sendError(res, 503, busy)
}

export interface Admission {
  scheduler: OllamaScheduler
  models: Map<string, EmulatedModel>
  path: string
  body: Record<string, any>
  res: ServerResponse
  /** Answers the request (the route's handler). */
  run: () => void
  /** Answered without running: the request is over. */
  finished: () => void
  /** Receives the function that gives the request's place or slot back; the server calls it at the end or on abort. */
  hold: (leave: () => void) => void
}

function asksNothing(path: string, body: Record<string, any>): boolean {
  if (path === '/api/generate') return typeof body.prompt !== 'string' || body.prompt === ''
  if (path === '/api/chat') return !Array.isArray(body.messages) || body.messages.length === 0
  return false
}

function sendUnloaded(res: ServerResponse, path: string, model: unknown): void {
  const reply = path === '/api/chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }
  sendJson(res, 200, { model, created_at: new Date().toISOString(), ...reply, done: true, done_reason: 'unload' })
}

export function admit(admission: Admission): void {
  const { scheduler, path, body, res } = admission
  const found = lookupModel(admission.models, body.model)
  // The handler answers an unknown model in its own dialect; nothing is scheduled for it.
  if ('message' in found) return admission.run()
  const native = path.startsWith('/api/')
  const keepAlive = native ? readKeepAlive(body.keep_alive) : { ms: undefined }
  if ('error' in keepAlive) {
    sendError(res, 400, keepAlive.error)
    return admission.finished()
  }
  if (keepAlive.ms === 0 && asksNothing(path, body)) {
    scheduler.expire(found.name)
    sendUnloaded(res, path, body.model)
    return admission.finished()
  }
  // The reply can end inside enter() (a stream:false reply starts and ends at once), before its ticket is known.
  const seat: { ticket?: Ticket; ended: boolean } = { ended: false }
  admission.hold(() => {
    seat.ended = true
    if (seat.ticket) scheduler.leave(seat.ticket)
  })
  seat.ticket = scheduler.enter(found.name, keepAlive.ms, admission.run)
  if (!seat.ticket) {
    sendBusy(res, path)
    return admission.finished()
  }
  if (seat.ended) scheduler.leave(seat.ticket)
}
