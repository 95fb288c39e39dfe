// A miss's reply, kept as it comes from the backend (before the route's tap changes anything for the client) so that
// it can be stored once it completed. It wraps the route's tap: every byte still passes unchanged to it. A reply is
// complete only when the backend said it ended (the tap's end), with status 200, and its framing ended as it must:
// NDJSON's last line `"done":true`, SSE's `data: [DONE]`. Anything cut short — a backend error mid-stream, the client
// gone, a timeout — never reaches end(), or fails these checks, and is never stored.
import type { OllamaUsage } from '../proxy/usageSniffer.js'
import type { ResponseTap, TapFactory } from '../proxy/responseTap.js'

export class ReplyCapture {
  private pieces: Buffer[] = []
  private bytes = 0
  private tooLarge = false
  private ended = false
  status = 0
  contentType = ''

  constructor(private readonly maxBytes: number) {}

  /** The route's tap factory, wrapped (its own tap may be none: the bytes still pass through here). */
  wrap(inner: TapFactory | undefined): TapFactory {
    return (status, contentType) => {
      // A new head: a failover's second backend; what the first one sent is not this reply.
      this.pieces = []
      this.bytes = 0
      this.tooLarge = false
      this.ended = false
      this.status = status
      this.contentType = contentType
      return new CapturingTap(this, inner?.(status, contentType))
    }
  }

  take(chunk: Buffer): void {
    if (this.tooLarge) return
    this.bytes += chunk.length
    if (this.bytes > this.maxBytes) {
      this.tooLarge = true
      this.pieces = []
      return
    }
    this.pieces.push(chunk)
  }

  markEnded(): void {
    this.ended = true
  }

  /** The reply's bytes when it completed and may be stored; undefined otherwise. */
  completeBody(): Buffer | undefined {
    if (!this.ended || this.tooLarge || this.status !== 200) return undefined
    const body = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces)
    return framingComplete(this.contentType, body) ? body : undefined
  }
}

class CapturingTap implements ResponseTap {
  constructor(
    private readonly capture: ReplyCapture,
    private readonly inner: ResponseTap | undefined,
  ) {}

  push(chunk: Buffer): Buffer | undefined {
    this.capture.take(chunk)
    return this.inner ? this.inner.push(chunk) : chunk
  }

  end(): Buffer | undefined {
    this.capture.markEnded()
    return this.inner?.end()
  }

  usage(): OllamaUsage | undefined {
    return this.inner?.usage()
  }
}

const done = Buffer.from('"done":true')
const sseDone = Buffer.from('data: [DONE]')

/** Whether a stream's last piece says it ended (a whole JSON reply is complete once the backend ended it). */
export function framingComplete(contentType: string, body: Buffer): boolean {
  if (body.length === 0) return false
  if (contentType.startsWith('application/x-ndjson')) {
    let end = body.length
    while (end > 0 && (body[end - 1] === 0x0a || body[end - 1] === 0x0d)) end--
    const lineStart = body.lastIndexOf(0x0a, end - 1) + 1
    return body.subarray(lineStart, end).includes(done)
  }
  if (contentType.startsWith('text/event-stream')) {
    let end = body.length
    while (end > 0 && (body[end - 1] === 0x0a || body[end - 1] === 0x0d)) end--
    return end >= sseDone.length && body.subarray(end - sseDone.length, end).equals(sseDone)
  }
  return true
}
