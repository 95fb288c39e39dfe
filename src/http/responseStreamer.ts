// Streams a response to a uWS client with backpressure, batching what arrives in one upstream read into one cork.
//
// Rules from measuring the uWS v20.30 build (see shared/reference/dependencies.md):
// - one cork = one send(): collect the chunks of one upstream read and flush them together at the end of the microtask;
// - a cork that buffers more than 16 KiB under a slow reader silently loses data: keep each cork under corkBudget;
// - write() false means uWS buffered the data: never resend it, and write nothing more until onWritable.
// Every touch of the response goes through a ClientReply, whose `closed` flag is the one guard against writing after
// the client left or the response ended.
import type { ClientReply } from './clientReply.js'
import { writeStatus } from './status.js'

const corkBudget = 15 * 1024
/** Past this much queued here, the upstream is paused even if the client is keeping up. */
const highWaterMark = 64 * 1024

export class ResponseStreamer {
  private readonly queue: Buffer[] = []
  private queueStart = 0
  private queuedBytes = 0
  private head: { status: number; headers: string[] } | undefined
  private scheduled = false
  private blocked = false
  private writableRegistered = false
  private endRequested = false
  /** push() returned false: the producer is paused until onDrain. */
  private producerPaused = false
  /** Called when everything queued is written after push() told the producer to pause. */
  onDrain: (() => void) | undefined

  private readonly flushNow = (): void => this.flush()

  constructor(private readonly reply: ClientReply) {}

  /** Status and flat [name, value, ...] headers, written together with the first data. */
  start(status: number, headers: string[]): void {
    this.head = { status, headers }
    this.schedule()
  }

  /** Queues a chunk; false means the producer should pause until onDrain. */
  push(chunk: Buffer): boolean {
    if (this.reply.closed) return false
    if (chunk.length > 0) {
      this.queue.push(chunk)
      this.queuedBytes += chunk.length
      this.schedule()
    }
    if (!this.blocked && this.queuedBytes < highWaterMark) return true
    this.producerPaused = true
    return false
  }

  /** Ends the response once everything queued is written. */
  end(): void {
    this.endRequested = true
    this.schedule()
  }

  /** Closes the connection at once (when a partial body must not look complete). */
  close(): void {
    this.drop()
    this.reply.close()
  }

  /** Lets go of what is queued (the reply is closed: it will never be written). */
  private drop(): void {
    this.queue.length = 0
    this.queueStart = 0
    this.queuedBytes = 0
  }

  private schedule(): void {
    if (this.scheduled || this.blocked) return
    this.scheduled = true
    queueMicrotask(this.flushNow)
  }

  private flush(): void {
    this.scheduled = false
    while (!this.blocked && (this.head || this.queuedBytes > 0 || this.endRequested)) {
      if (!this.reply.cork(this.writeBatch)) break
    }
    if (this.reply.closed) return this.drop()
    if (this.blocked) this.waitWritable()
    else if (this.producerPaused) {
      this.producerPaused = false
      this.onDrain?.()
    }
  }

  /** One cork's worth: the head if pending, then queued data up to the budget, then the end if all is written. */
  private readonly writeBatch = (): void => {
    const res = this.reply.res
    let budget = corkBudget
    if (this.head) {
      const { status, headers } = this.head
      this.head = undefined
      writeStatus(res, status)
      for (let i = 0; i < headers.length; i += 2) {
        res.writeHeader(headers[i]!, headers[i + 1]!)
        budget -= headers[i]!.length + headers[i + 1]!.length + 4
      }
    }
    // A write can report the client gone (uWS runs onAborted inside it): check the reply before each one.
    while (budget > 0 && this.queuedBytes > 0 && !this.reply.closed) {
      const chunk = this.queue[this.queueStart]!
      let piece = chunk
      if (chunk.length > budget) {
        piece = chunk.subarray(0, budget)
        this.queue[this.queueStart] = chunk.subarray(budget)
      } else {
        this.queueStart++
      }
      this.queuedBytes -= piece.length
      budget -= piece.length
      if (!res.write(piece)) {
        this.blocked = true
        break
      }
    }
    if (this.queuedBytes === 0) {
      this.queue.length = 0
      this.queueStart = 0
      if (this.endRequested && !this.blocked && !this.reply.closed) {
        this.reply.markEnded()
        res.end()
      }
    }
  }

  private waitWritable(): void {
    if (this.writableRegistered) return
    this.writableRegistered = true
    // While this handler is registered uWS drains its own buffer only on our next write or end; we return true and
    // write from a fresh turn, which drains first.
    this.reply.res.onWritable(() => {
      if (this.blocked) {
        this.blocked = false
        this.schedule()
      }
      return true
    })
  }
}
