// Writes a generated reply the way Ollama does: headers with the first token, then one line (or SSE event) per token
// as it is produced, optionally re-chunked so lines straddle chunks, with the mid-stream faults applied.
import type { ServerResponse } from 'node:http'
import type { Knobs } from './options.js'

export interface StreamPlan {
  contentType: string
  /** Number of token pieces before the final ones. */
  count: number
  piece: (index: number) => string
  /** What follows the tokens (final object, usage chunk, [DONE]). */
  tail: () => string
  /** How a mid-stream error is written in this framing. */
  errorPiece: (message: string) => string
  /** What comes before and after the content of a huge event (the hugeEventBytes knob). */
  hugeEvent?: [string, string]
}

export function writeStream(res: ServerResponse, knobs: Knobs, plan: StreamPlan, onDone: () => void): void {
  let index = 0
  let carry = ''
  const faultAt = knobs.fault.endsWith('_mid_stream') ? Math.floor(plan.count / 2) : -1
  /** Returns false when the socket is backed up (the gateway paused us): wait for 'drain'. */
  const emit = (text: string, last: boolean): boolean => {
    if (knobs.chunkBytes <= 0) return res.write(text)
    carry += text
    let ok = true
    while (carry.length >= knobs.chunkBytes) {
      ok = res.write(carry.slice(0, knobs.chunkBytes)) && ok
      carry = carry.slice(knobs.chunkBytes)
    }
    if (last && carry) ok = res.write(carry) && ok
    return ok
  }
  const step = (): void => {
    if (res.destroyed) return onDone()
    if (!res.headersSent) res.writeHead(200, { 'content-type': plan.contentType })
    for (;;) {
      if (index === faultAt) return fault(res, knobs, plan, emit, onDone)
      if (index >= plan.count) {
        emit(plan.tail(), true)
        res.end()
        return onDone()
      }
      const ok = emit(plan.piece(index++), false)
      if (knobs.delayMs > 0) {
        setTimeout(step, knobs.delayMs)
        return
      }
      if (!ok) {
        res.once('drain', step)
        return
      }
    }
  }
  const start = () => (knobs.hugeEventBytes > 0 && plan.hugeEvent ? writeHugeEvent(res, knobs, plan, step) : step())
  if (knobs.firstTokenMs > 0) setTimeout(start, knobs.firstTokenMs)
  else start()
}

/** One event of hugeEventBytes, written in 64 KiB pieces at the reader's pace (the emulator never holds it whole). */
function writeHugeEvent(res: ServerResponse, knobs: Knobs, plan: StreamPlan, then: () => void): void {
  const [head, tail] = plan.hugeEvent!
  const piece = Buffer.alloc(65536, 'x')
  let left = knobs.hugeEventBytes
  res.writeHead(200, { 'content-type': plan.contentType })
  res.write(head)
  const pump = (): void => {
    if (res.destroyed) return
    while (left > 0) {
      const size = Math.min(left, piece.length)
      left -= size
      if (!res.write(size === piece.length ? piece : piece.subarray(0, size))) {
        res.once('drain', pump)
        return
      }
    }
    res.write(tail)
    then()
  }
  pump()
}

function fault(
  res: ServerResponse,
  knobs: Knobs,
  plan: StreamPlan,
  emit: (text: string, last: boolean) => boolean,
  onDone: () => void,
): void {
  // Let what was written reach the wire first (destroy discards unsent data), then drop the connection.
  if (knobs.fault === 'reset_mid_stream') setTimeout(() => res.socket?.destroy(), 20)
  if (knobs.fault === 'error_mid_stream') {
    emit(plan.errorPiece('an error was encountered while running the model: emulated failure'), true)
    res.end()
  }
  // stall_mid_stream: write nothing more; the connection stays open until the client gives up.
  onDone()
}
