// Sends a plugin's own answer to the client (no backend): through the same streamer as a backend's reply (corks under
// uWS's limit, backpressure), its chunks shown to the onResponseChunk hooks, and the request's result for its usage
// row: the plugin's status, no backend, no token usage.
import type { ClientReply } from '../http/clientReply.js'
import { ResponseStreamer } from '../http/responseStreamer.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { Principal } from '../auth/principal.js'
import type { ExchangeResult } from '../proxy/exchange.js'
import type { ErrorCode } from '../errors.js'
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
    streamer.close()
    return { bytesOut, failure }
  }
  streamer.end()
  return { bytesOut }
}

function contentTypeOf(headers: string[]): string {
  const at = headers.indexOf('content-type')
  return at >= 0 ? headers[at + 1]! : ''
}

/** The result of a request a plugin answered or refused: its usage row (no backend, no tokens) and its onEnd. */
export function answeredResult(
  request: RequestSnapshot,
  route: { api: string; name: string },
  principal: Principal | undefined,
  model: string | null,
  status: number,
  startedAt: number,
  how: { bytesIn: number; bytesOut: number; errorCode: ErrorCode | undefined; clientAborted: boolean },
): ExchangeResult {
  return {
    requestId: request.requestId,
    time: request.time,
    api: route.api,
    route: route.name,
    model,
    userId: principal?.userId ?? null,
    username: principal?.username ?? null,
    keyId: principal?.keyId ?? null,
    backend: null,
    status,
    errorCode: how.errorCode,
    usage: undefined,
    chunks: 0,
    clientAborted: how.clientAborted,
    bytesIn: how.bytesIn,
    bytesOut: how.bytesOut,
    clientIp: request.clientIp,
    startedAt,
    dispatchedAt: 0,
    firstByteAt: 0,
    endedAt: performance.now(),
  }
}
