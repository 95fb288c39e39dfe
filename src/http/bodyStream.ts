// A request body as a Node Readable, for uploads too large to hold (model blobs can be gigabytes): uWS stops reading
// the socket while the upstream cannot take more (pause), and resumes when it asks for more (_read). The response can
// end before the upload does (a backend that answers early): from then on the body is dropped and the response never
// touched again, through the exchange's ClientReply.
import { Readable } from 'node:stream'
import type { ClientReply } from './clientReply.js'

const highWaterMark = 256 * 1024

export function streamBody(reply: ClientReply): Readable {
  let paused = false
  const body = new Readable({
    highWaterMark,
    read() {
      if (paused) {
        paused = false
        reply.resume()
      }
    },
  })
  reply.res.onData((chunk, isLast) => {
    if (reply.closed) {
      if (!body.destroyed) body.destroy()
      return
    }
    if (chunk.byteLength > 0 && !body.push(Buffer.copyBytesFrom(new Uint8Array(chunk))) && !isLast) {
      paused = true
      reply.pause()
    }
    if (isLast) body.push(null)
  })
  return body
}
