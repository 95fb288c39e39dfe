// The one owner of a uWS response once a request goes asynchronous. uWS terminates the process (not catchable) when a
// response is touched after its onAborted callback ran or after it was ended, so every write goes through here and
// is dropped once `closed` is set: by the client leaving (aborted), by an end, or by a close.
import type { HttpResponse } from '../../native/uws.js'

export class ClientReply {
  /** The client went away, or the response was ended or closed: nothing may touch `res` any more. */
  closed = false
  /** The client went away before the response was complete (onAborted ran). */
  aborted = false

  constructor(readonly res: HttpResponse) {}

  /** Call from `res.onAborted`, before anything else reacts to it. */
  markAborted(): void {
    if (!this.closed) this.aborted = true
    this.closed = true
  }

  /** Writes part of a response in one cork; false (nothing written) once closed. */
  cork(write: () => void): boolean {
    if (this.closed) return false
    this.res.cork(write)
    return true
  }

  /**
   * Writes a whole response in one cork (`write` must end it), once: false when the response was already closed.
   * The flag is set before writing, so an abort uWS reports from inside the write cannot lead to a second one.
   */
  endWith(write: (res: HttpResponse) => void): boolean {
    if (this.closed) return false
    this.closed = true
    this.res.cork(() => write(this.res))
    return true
  }

  /** Marks the response ended by the caller's own `res.end()` inside a `cork` (the streamer's last batch). */
  markEnded(): void {
    this.closed = true
  }

  /** Stops reading the request body (backpressure toward the client); nothing once closed. */
  pause(): void {
    if (!this.closed) this.res.pause()
  }

  /** Reads the request body again; nothing once closed. */
  resume(): void {
    if (!this.closed) this.res.resume()
  }

  /** Closes the connection at once (when a partial body must not look complete). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.res.close()
  }
}
