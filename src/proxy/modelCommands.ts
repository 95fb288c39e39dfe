// Model management on one backend, as the admin API asks it (src/api/admin/models.ts): delete and copy (one answer
// each) and pull (progress lines for as long as it runs), through the backend's own keep-alive pool. Failures come
// back as the gateway's error codes, never thrown: the admin API reports each backend's outcome on its own.
import type { Dispatcher } from 'undici'
import { GatewayError } from '../errors.js'
import type { Backend } from './backends.js'
import { errorBeforeResponse, errorMidStream } from './upstreamErrors.js'

/** The upstream timeouts that apply (the config's `timeouts`, as they are now). */
export interface CommandTimeouts {
  /** Until the response head arrives. */
  first_byte: number
  /** Longest silence between two progress lines of a pull. */
  idle: number
}

/** Ollama's answer for a model command that did not succeed: its status and `{"error": "..."}`. */
async function upstreamRefusal(response: Dispatcher.ResponseData, backend: Backend): Promise<GatewayError> {
  let message = `backend ${backend.name} answered status ${response.statusCode}`
  try {
    const body = (await response.body.json()) as { error?: unknown }
    if (typeof body?.error === 'string' && body.error !== '') message = `backend ${backend.name}: ${body.error}`
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  return new GatewayError(codeForStatus(response.statusCode), message)
}

/** Ollama's statuses for model commands: 400 a bad name, 404 no such model, anything else the backend failing. */
function codeForStatus(status: number) {
  if (status === 400) return 'invalid_request' as const
  if (status === 404) return 'model_not_found' as const
  return 'upstream_failed' as const
}

/** Sends one model command that answers 200 with an empty body (delete, copy); undefined when it succeeded. */
async function command(
  backend: Backend,
  method: 'DELETE' | 'POST',
  path: string,
  body: object,
  timeouts: CommandTimeouts,
): Promise<GatewayError | undefined> {
  let response: Dispatcher.ResponseData
  try {
    response = await backend.pool.request({
      path,
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: timeouts.first_byte,
      bodyTimeout: timeouts.idle,
    })
  } catch (error) {
    return errorBeforeResponse(error, backend.name)
  }
  if (response.statusCode !== 200) return upstreamRefusal(response, backend)
  await response.body.dump()
  return undefined
}

export function deleteModel(backend: Backend, model: string, timeouts: CommandTimeouts) {
  return command(backend, 'DELETE', '/api/delete', { model }, timeouts)
}

export function copyModel(backend: Backend, source: string, destination: string, timeouts: CommandTimeouts) {
  return command(backend, 'POST', '/api/copy', { source, destination }, timeouts)
}

/** One progress line of a pull as Ollama sends it (only the fields the admin API passes on). */
export interface PullProgress {
  status: string
  digest?: string
  total?: number
  completed?: number
}

/** Where one backend's pull reports: each progress line, and once, how it ended (undefined error: success). */
export interface PullListener {
  progress(line: PullProgress): void
  end(error: GatewayError | undefined): void
}

/** A line longer than this is no progress line: the stream is not Ollama's. */
const maxLineBytes = 64 * 1024

/**
 * Pulls `model` on `backend`, reporting to `listener`. The returned controls pause and resume reading (the client's
 * backpressure) and cancel (the client left: the upstream request is aborted, so Ollama stops the download).
 */
export function pullModel(backend: Backend, model: string, timeouts: CommandTimeouts, listener: PullListener) {
  const abort = new AbortController()
  /** Set while the client is behind: the reading loop waits on it (the socket then fills, and TCP slows Ollama). */
  let paused: { promise: Promise<void>; resolve: () => void } | undefined
  let ended = false
  const end = (error: GatewayError | undefined): void => {
    if (ended) return
    ended = true
    listener.end(error)
  }
  const run = async (): Promise<void> => {
    let response: Dispatcher.ResponseData
    try {
      response = await backend.pool.request({
        path: '/api/pull',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream: true }),
        headersTimeout: timeouts.first_byte,
        bodyTimeout: timeouts.idle,
        signal: abort.signal,
      })
    } catch (error) {
      return end(errorBeforeResponse(error, backend.name))
    }
    if (response.statusCode !== 200) return end(await upstreamRefusal(response, backend))
    const lines = new LineReader()
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (paused) await paused.promise
        for (const line of lines.push(chunk)) {
          const outcome = readLine(line, backend)
          if (outcome === 'success') return end(undefined)
          if (outcome instanceof GatewayError) return end(outcome)
          if (outcome) listener.progress(outcome)
        }
        if (lines.pending > maxLineBytes) {
          return end(new GatewayError('upstream_failed', `backend ${backend.name} sent a progress line over 64 KiB`))
        }
      }
    } catch (error) {
      return end(new GatewayError('upstream_failed', errorMidStream(error, backend.name)))
    }
    end(new GatewayError('upstream_failed', `backend ${backend.name} ended the pull without "success"`))
  }
  void run()
  return {
    pause(): void {
      if (paused) return
      let resolve!: () => void
      const promise = new Promise<void>((done) => (resolve = done))
      paused = { promise, resolve }
    },
    resume(): void {
      paused?.resolve()
      paused = undefined
    },
    cancel(): void {
      ended = true
      abort.abort()
      paused?.resolve()
    },
  }
}

/** A progress line, the end (`success`, or Ollama's `{"error"}` line), or undefined for a line that says nothing. */
function readLine(line: string, backend: Backend): PullProgress | 'success' | GatewayError | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(line) as Record<string, unknown>
  } catch {
    return new GatewayError('upstream_failed', `backend ${backend.name} sent a line that is not JSON`)
  }
  if (typeof value !== 'object' || value === null) return undefined
  if (typeof value.error === 'string')
    return new GatewayError('upstream_failed', `backend ${backend.name}: ${value.error}`)
  if (typeof value.status !== 'string') return undefined
  if (value.status === 'success') return 'success'
  const progress: PullProgress = { status: value.status }
  if (typeof value.digest === 'string') progress.digest = value.digest
  if (isCount(value.total)) progress.total = value.total
  if (isCount(value.completed)) progress.completed = value.completed
  return progress
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Splits a byte stream into lines (a line may straddle chunks; a multi-byte character too). */
class LineReader {
  private carry = ''
  private readonly decoder = new TextDecoder()

  get pending(): number {
    return this.carry.length
  }

  push(chunk: Buffer): string[] {
    const text = this.carry + this.decoder.decode(chunk, { stream: true })
    const parts = text.split('\n')
    this.carry = parts.pop()!
    return parts.filter((part) => part.trim() !== '')
  }
}
