// A hit answered: the stored upstream bytes, with the OpenAI id and created made fresh (freshIds.ts), go through the
// route's own tap made for this request — so the framing is the caller's: the usage chunk removed when it did not ask
// for it, its alias named — and out to the client like a backend's reply: a stream in corks under uWS's limit with
// backpressure (ResponseStreamer), a small whole reply with one end(). What it reports is finish's outcome: no
// backend, the stored reply's token counts, nothing sent upstream.
import type { ClientReply } from '../http/clientReply.js'
import { ResponseStreamer } from '../http/responseStreamer.js'
import { writeStatus } from '../http/status.js'
import type { ExchangeOutcome } from '../proxy/exchange.js'
import type { TapFactory } from '../proxy/responseTap.js'
import type { CacheEntry } from './cacheEntry.js'
import { fillHoles } from './freshIds.js'

/** Replies up to this size go out whole with one end(), as the exchange does (uWS's cork buffer is 16 KiB). */
const wholeBodyLimit = 14 * 1024

export interface ReplayRequest {
  readonly request: { readonly requestId: string }
  /** performance.now() when the request arrived: the Server-Timing of the reply. */
  readonly startedAt: number
  readonly admission: { readonly headers: readonly string[] } | undefined
  readonly tapFactory: TapFactory | undefined
}

/** The plugins' response slots, as the exchange calls them. */
export interface ReplaySlots<S> {
  onResponseHead?: (state: S, status: number, contentType: string) => readonly string[] | undefined
  onResponseChunk?: (state: S, chunk: Buffer) => void
}

export function replayEntry<S extends ReplayRequest>(
  reply: ClientReply,
  state: S,
  entry: CacheEntry,
  slots: ReplaySlots<S>,
  /** ms since epoch: the replay's `created`. */
  now: number,
  /** A hit's tokens count against the caller's limits: finish settles them as used. */
  countsTokens: boolean,
): ExchangeOutcome {
  const startedAt = performance.now()
  const { contentType } = entry
  const tap = state.tapFactory?.(200, contentType)
  const stored = fillHoles(entry.body, entry.holes, now)
  const out = tap ? tap.push(stored) : stored
  const rest = tap?.end()
  const headers = ['content-type', contentType, 'x-request-id', state.request.requestId, 'x-parallama-cache', 'hit']
  if (state.admission) headers.push(...state.admission.headers)
  // What the gateway took, all of it its own (no upstream entry: no backend was asked).
  headers.push('server-timing', `cache;desc="hit", gateway;dur=${Math.round((startedAt - state.startedAt) * 10) / 10}`)
  const added = slots.onResponseHead?.(state, 200, contentType)
  if (added) headers.push(...added)
  let bytesOut = 0
  const pieces: Buffer[] = []
  for (const piece of [out, rest]) {
    if (!piece || piece.length === 0) continue
    slots.onResponseChunk?.(state, piece)
    bytesOut += piece.length
    pieces.push(piece)
  }
  const streams = contentType.startsWith('application/x-ndjson') || contentType.startsWith('text/event-stream')
  if (!streams && bytesOut <= wholeBodyLimit) {
    const body = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
    reply.endWith((res) => {
      writeStatus(res, 200)
      for (let i = 0; i < headers.length; i += 2) res.writeHeader(headers[i]!, headers[i + 1]!)
      res.end(body)
    })
  } else {
    const streamer = new ResponseStreamer(reply)
    streamer.start(200, headers)
    for (const piece of pieces) streamer.push(piece)
    streamer.end()
  }
  return {
    backendName: null,
    status: 200,
    usage: tap?.usage(),
    chunks: piecesIn(contentType, stored),
    clientAborted: reply.aborted,
    bytesOut,
    dispatchedAt: 0,
    firstByteAt: startedAt,
    // Nothing went upstream: finish gives the reservation back whole, unless hits count (cache.count_tokens).
    unsent: !countsTokens,
  }
}

/** Lines of an NDJSON stream, events of an SSE stream, else one piece (what the exchange counts as chunks). */
function piecesIn(contentType: string, body: Buffer): number {
  const separator = contentType.startsWith('text/event-stream')
    ? '\n\n'
    : contentType.startsWith('application/x-ndjson')
      ? '\n'
      : undefined
  if (separator === undefined) return 1
  let count = 0
  for (let at = body.indexOf(separator); at >= 0; at = body.indexOf(separator, at + separator.length)) count++
  return count
}
