// One pull on several backends at once, merged into one NDJSON stream: each line is a backend's progress tagged with
// its name, and each backend ends with its own last line — `{"backend","status":"success"}` or
// `{"backend","error":{"code","message"}}` — while the others go on. The stream ends when every backend has ended.
// A slow client pauses every upstream pull (nothing piles up in the gateway); a client that leaves cancels them all.
import type { GatewayError } from '../errors.js'
import type { Backend } from './backends.js'
import { pullModel, type CommandTimeouts, type PullProgress } from './modelCommands.js'

/** Where the merged lines go (the admin route's streamed answer). */
export interface LineSink {
  /** false: the client is behind; stop until onDrain's callback runs. */
  write(text: string): boolean
  onDrain(callback: () => void): void
  end(): void
}

/** One line of the merged stream. */
export type PullLine =
  | ({ backend: string } & PullProgress)
  | { backend: string; status: 'success' }
  | { backend: string; error: { code: string; message: string } }

/**
 * Starts the pulls; returns the cancel for a client that left. `ended` hears each backend's outcome (to refresh its
 * inventory, emit the event); the backend's last line waits for what it returns, so that a client reading the
 * inventory after the last line sees the change.
 */
export function mergePulls(
  backends: readonly Backend[],
  model: string,
  timeouts: CommandTimeouts,
  out: LineSink,
  ended: (backend: Backend, error: GatewayError | undefined) => Promise<void> | void,
): () => void {
  let running = backends.length
  const pulls: ReturnType<typeof pullModel>[] = []
  const write = (line: PullLine): void => {
    if (!out.write(JSON.stringify(line) + '\n')) for (const pull of pulls) pull.pause()
  }
  out.onDrain(() => {
    for (const pull of pulls) pull.resume()
  })
  for (const backend of backends) {
    pulls.push(
      pullModel(backend, model, timeouts, {
        progress: (line) => write({ backend: backend.name, ...line }),
        end: (error) => {
          const last = () => {
            if (error) write({ backend: backend.name, error: { code: error.code, message: error.message } })
            else write({ backend: backend.name, status: 'success' })
            if (--running === 0) out.end()
          }
          // `ended` must not throw (models.ts's does not); a rejection still writes the line.
          void Promise.resolve(ended(backend, error)).then(last, last)
        },
      }),
    )
  }
  if (running === 0) out.end()
  return () => {
    for (const pull of pulls) pull.cancel()
  }
}
