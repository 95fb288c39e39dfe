// A JSON route's streamed answer (POST /admin/v1/models/pull: NDJSON progress for as long as the pulls run): the head
// at once, then text as the handler's producer makes it, with backpressure both ways, and the producer told when the
// client leaves so that it stops its own work (the upstream pulls). Everything else a JSON route answers is whole
// (jsonRoute.ts); this is the one kind that outlives the handler's return.
import type { HttpResponse } from '../../native/uws.js'
import { ClientReply } from '../http/clientReply.js'
import { ResponseStreamer } from '../http/responseStreamer.js'

/** Where a producer writes: lines of text, with the client's pace. */
export interface StreamOut {
  /** Queues text for the client; false: stop producing until the callback given to onDrain runs. */
  write(text: string): boolean
  onDrain(callback: () => void): void
  /** The answer is complete: ends the response once everything queued is written. */
  end(): void
}

/**
 * What a handler returns to stream its answer. `produce` runs once the head is on its way (never when the client left
 * first) and returns how to stop: called when the client goes away before `end`.
 */
export interface StreamReply {
  status: number
  contentType: string
  produce(out: StreamOut): () => void
}

export function isStreamReply(reply: unknown): reply is StreamReply {
  return typeof (reply as StreamReply | null)?.produce === 'function'
}

/** The running stream, for the route's onAborted. */
export interface StreamingAnswer {
  clientGone(): void
}

/**
 * Starts streaming `reply` on `res` with `headers` (flat name, value pairs). `finished` runs once: at the end, or when
 * the client left (the route frees what its limits hold then, as a whole answer frees it when written).
 */
export function streamAnswer(
  res: HttpResponse,
  reply: StreamReply,
  headers: readonly string[],
  finished: () => void,
): StreamingAnswer {
  const client = new ClientReply(res)
  const streamer = new ResponseStreamer(client)
  streamer.start(reply.status, ['content-type', reply.contentType, ...headers])
  let done = false
  const finish = (): void => {
    if (done) return
    done = true
    finished()
  }
  const stop = reply.produce({
    write: (text) => streamer.push(Buffer.from(text)),
    onDrain: (callback) => {
      streamer.onDrain = callback
    },
    end: () => {
      streamer.end()
      finish()
    },
  })
  return {
    clientGone: () => {
      client.markAborted()
      if (done) return
      finish()
      stop()
    },
  }
}
