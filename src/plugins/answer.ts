// Sends a plugin's own answer to the client (no backend): through the same streamer as a backend's reply (corks under
// uWS's limit, backpressure), its chunks shown to the onResponseChunk hooks. What it tells (bytes out, a failure) is
// what the composition hands to the finish stage (src/usage/finish.ts's withoutBackend: no backend, no token).
import type { ClientReply } from '../http/clientReply.js'
import { ResponseStreamer } from '../http/responseStreamer.js'
import type { Answer } from './answerShape.js'
import type { RequestPlugins } from './chain.js'

export interface AnswerOutcome {
  bytesOut: number
  /** The answer's chunks failed part way (the connection was closed so that it does not look complete). */
  failure?: unknown
}

/** Writes the answer; resolves once it is all handed to uWS (or the client left, or the chunks failed). */
export async function writeAnswer(
  reply: ClientReply,
  answer: Answer,
  requestId: string,
  /** Headers besides the answer's own: the limits' and the plugins', flat. */
  more: readonly string[] | undefined,
  view: RequestPlugins,
): Promise<AnswerOutcome> {
  const streamer = new ResponseStreamer(reply)
  let drained: (() => void) | undefined
  streamer.onDrain = () => drained?.()
  // A client that leaves while the writer waits for a drain would leave it waiting for ever: its leaving wakes it.
  view.answering = () => drained?.()
  const headers = ['x-request-id', requestId, ...answer.headers, ...(more ?? []), ...(view.headers ?? [])]
  view.head(answer.status, contentTypeOf(answer.headers))
  streamer.start(answer.status, headers)
  let bytesOut = 0
  const send = async (piece: Buffer | string): Promise<void> => {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece
    if (!Buffer.isBuffer(chunk)) throw new Error('answer chunks must be Buffers or strings')
    if (chunk.length === 0) return
    bytesOut += chunk.length
    view.chunk(chunk)
    if (!streamer.push(chunk) && !reply.closed) await new Promise<void>((resolve) => (drained = resolve))
  }
  try {
    if (answer.body) await send(answer.body)
    if (answer.chunks) {
      for await (const piece of answer.chunks) {
        if (reply.closed) break
        await send(piece)
      }
    }
  } catch (failure) {
    view.answerFailed(failure)
    streamer.close()
    return { bytesOut, failure }
  } finally {
    view.answering = undefined
  }
  streamer.end()
  return { bytesOut }
}

function contentTypeOf(headers: string[]): string {
  const at = headers.indexOf('content-type')
  return at >= 0 ? headers[at + 1]! : ''
}
