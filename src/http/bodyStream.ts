// A request body as a Node Readable, for uploads too large to hold (model blobs can be gigabytes): uWS stops reading
// the socket while the upstream cannot take more (res.pause), and resumes when it asks for more (_read).
import { Readable } from 'node:stream'
import type { HttpResponse } from '../../native/uws.js'

const highWaterMark = 256 * 1024

export function streamBody(res: HttpResponse): Readable {
  let paused = false
  const body = new Readable({
    highWaterMark,
    read() {
      if (paused) {
        paused = false
        res.resume()
      }
    },
  })
  res.onData((chunk, isLast) => {
    if (chunk.byteLength > 0 && !body.push(Buffer.copyBytesFrom(new Uint8Array(chunk))) && !isLast) {
      paused = true
      res.pause()
    }
    if (isLast) body.push(null)
  })
  return body
}
