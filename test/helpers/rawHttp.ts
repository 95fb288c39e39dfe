// A raw HTTP/1.1 client on a TCP socket, for tests that must control reading at the socket level (pausing the
// kernel's receive side) and see the exact framing the gateway wrote.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RawResponse {
  head: string
  body: Buffer
  /** The chunked framing was broken somewhere (what uWS's cork overflow produces). */
  framingError: string | undefined
}

/** Sends one request, then reads in a pause/resume rhythm until the terminating chunk arrives (or `maxRounds`). */
export async function rawRequestBursty(
  port: number,
  request: string,
  rhythm: { pauseMs: number; readMs: number; maxRounds: number },
): Promise<RawResponse> {
  const socket = net.connect(port, '127.0.0.1')
  const parts: Buffer[] = []
  let ended = false
  socket.on('data', (data: Buffer) => parts.push(data))
  socket.on('end', () => (ended = true))
  socket.on('error', () => (ended = true))
  socket.write(request)
  for (let round = 0; round < rhythm.maxRounds && !ended; round++) {
    socket.pause()
    await sleep(rhythm.pauseMs)
    socket.resume()
    await sleep(rhythm.readMs)
    const tail = parts.at(-1)
    if (tail && tail.subarray(-5).toString('latin1') === '0\r\n\r\n') break
  }
  socket.destroy()
  return decodeChunked(Buffer.concat(parts))
}

export function decodeChunked(raw: Buffer): RawResponse {
  const headEnd = raw.indexOf('\r\n\r\n')
  const head = raw.subarray(0, headEnd).toString('latin1')
  const pieces: Buffer[] = []
  let at = headEnd + 4
  while (at < raw.length) {
    const lineEnd = raw.indexOf('\r\n', at)
    const sizeText = raw.subarray(at, lineEnd).toString('latin1')
    if (!/^[0-9a-f]+$/i.test(sizeText)) {
      return { head, body: Buffer.concat(pieces), framingError: `bad chunk size "${sizeText.slice(0, 20)}" at ${at}` }
    }
    const size = parseInt(sizeText, 16)
    if (size === 0) return { head, body: Buffer.concat(pieces), framingError: undefined }
    pieces.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return { head, body: Buffer.concat(pieces), framingError: 'the stream ended without its last chunk' }
}

export interface RawExchange {
  /** Everything the server sent. */
  text: string
  /** How the connection ended: 'FIN', an error code (ECONNRESET), or 'open' when it was still open at the deadline. */
  ended: string
}

/**
 * Writes bytes on a fresh connection and collects what comes back until the server closes or `waitMs` passes (a
 * bound on the test, not a timing claim: 'open' means the server neither answered nor closed in that time).
 */
export async function rawExchange(port: number, request: string | Buffer, waitMs = 800): Promise<RawExchange> {
  const socket = net.connect(port, '127.0.0.1')
  const parts: Buffer[] = []
  let ended = ''
  const closed = new Promise<void>((resolve) => {
    socket.on('end', () => (ended ||= 'FIN'))
    socket.on('error', (error: NodeJS.ErrnoException) => (ended ||= error.code ?? 'error'))
    socket.on('close', () => resolve())
  })
  socket.on('data', (data: Buffer) => parts.push(data))
  socket.write(request)
  await Promise.race([closed, sleep(waitMs)])
  socket.destroy()
  return { text: Buffer.concat(parts).toString('latin1'), ended: ended || 'open' }
}
