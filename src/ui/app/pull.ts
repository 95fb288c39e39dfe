// Reads a model pull's NDJSON stream (POST /admin/v1/models/pull, CONTRACT.md): one progress object per line, and per
// backend a last line that is either `status: "success"` or an `error`. Told to the page as each line arrives.

export interface PullLine {
  backend: string
  status?: string
  digest?: string
  total?: number
  completed?: number
  error?: { code: string; message: string }
}

export interface BackendPull {
  status: string
  total?: number
  completed?: number
  done: boolean
  error?: string
}

/** Applies one line to the state of its backend's pull. */
export function applyPullLine(state: Record<string, BackendPull>, line: PullLine): Record<string, BackendPull> {
  const before = state[line.backend] ?? { status: 'starting', done: false }
  if (line.error) {
    return { ...state, [line.backend]: { ...before, status: 'failed', done: true, error: line.error.message } }
  }
  const next: BackendPull = { ...before, status: line.status ?? before.status, done: line.status === 'success' }
  // A new layer restarts the byte counts; lines without them (verifying, writing manifest) keep the last.
  if (line.total !== undefined) next.total = line.total
  if (line.completed !== undefined) next.completed = line.completed
  return { ...state, [line.backend]: next }
}

/** Calls `onLine` for every complete line of the stream, the last one too if it lacks its newline. */
export async function readNdjson(body: ReadableStream<Uint8Array>, onLine: (line: PullLine) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let pending = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    // stream: a character split across two chunks is decoded whole.
    pending += decoder.decode(value, { stream: true })
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const text of lines) if (text.trim() !== '') onLine(JSON.parse(text) as PullLine)
  }
  if (pending.trim() !== '') onLine(JSON.parse(pending) as PullLine)
}
