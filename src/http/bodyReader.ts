// Collects a request body into one Buffer, refusing it once it passes the size cap. uWS hands out chunks that are
// detached after the callback returns, so each is copied; with a declared length, into one preallocated buffer.
import type { HttpResponse } from '../../native/uws.js'
import { GatewayError } from '../errors.js'

export type BodyCallback = (error: GatewayError | undefined, body: Buffer) => void

const empty = Buffer.alloc(0)

export function readBody(res: HttpResponse, contentLength: number, limit: number, done: BodyCallback): void {
  if (contentLength > limit) {
    done(tooLarge(limit), empty)
    return
  }
  if (contentLength >= 0) readDeclared(res, contentLength, done)
  else readChunked(res, limit, done)
}

function readDeclared(res: HttpResponse, length: number, done: BodyCallback): void {
  const body = Buffer.allocUnsafe(length)
  let received = 0
  res.onData((chunk, isLast) => {
    const size = chunk.byteLength
    if (received + size <= length) body.set(new Uint8Array(chunk), received)
    received += size
    if (!isLast) return
    // uWS frames the body by content-length, so a mismatch means a broken client, not a truncated read.
    if (received !== length)
      done(new GatewayError('invalid_request', 'request body length differs from Content-Length'), empty)
    else done(undefined, body)
  })
}

function readChunked(res: HttpResponse, limit: number, done: BodyCallback): void {
  const parts: Buffer[] = []
  let received = 0
  let refused = false
  res.onData((chunk, isLast) => {
    if (refused) return
    received += chunk.byteLength
    if (received > limit) {
      refused = true
      done(tooLarge(limit), empty)
      return
    }
    parts.push(Buffer.copyBytesFrom(new Uint8Array(chunk)))
    if (isLast) done(undefined, parts.length === 1 ? parts[0]! : Buffer.concat(parts, received))
  })
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `request body is larger than the limit of ${limit} bytes`)
}
