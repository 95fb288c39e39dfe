// One proxied request's forward and response-tap stages: dispatched to a backend through undici's handler API, its
// response streamed to the uWS client as it arrives. It is the hot path: no per-chunk allocation beyond what uWS and
// undici need, no parse of the body except the final line's fields (for routes that report usage).
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { HttpResponse } from '../../native/uws.js'
import type { LiveConfig } from '../config/liveConfig.js'
import type { Principal } from '../auth/principal.js'
import type { ErrorCode, GatewayError } from '../errors.js'
import type { Admission } from '../limits/limiter.js'
import { errorEvent, writeError, type Dialect } from '../http/errorResponse.js'
import type { ResponseTap, TapFactory } from './responseTap.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import { ResponseStreamer } from '../http/responseStreamer.js'
import type { ClientReply } from '../http/clientReply.js'
import { writeStatus } from '../http/status.js'
import type { Backend } from './backends.js'
import { queueTiming, readUpstreamHead } from './responseHeaders.js'
import {
  backendLabel,
  errorBeforeResponse,
  errorMidStream,
  ExchangeAbort,
  neverReachedBackend,
} from './upstreamErrors.js'
import type { OllamaUsage } from './usageSniffer.js'
import { errorRetryReason, mayRetry, statusRetryReason, type RetryReason } from './retryPolicy.js'

/** Bodies up to this size are sent with one `end(body)`; larger ones stream (uWS's cork buffer is 16 KiB). */
const wholeBodyLimit = 14 * 1024

export interface ExchangeRoute {
  dialect: Dialect
  /** The API the route belongs to, as usage rows name it (`ollama`, `openai`). */
  api: string
  /** Route name for logs and metrics, e.g. `generate`. */
  name: string
  /** Path sent upstream. */
  upstreamPath: string
  /** The route's replies use tokens (generate, chat, embed, ...): its usage rows count them. */
  usesTokens: boolean
}

/** How one request ended, proxied or refused: what usage accounting, metrics and tests read. */
export interface ExchangeResult {
  requestId: string
  /** When the request arrived (ms since epoch). */
  time: number
  api: string
  route: string
  /** The route uses tokens (the route table's token use is not none). */
  usesTokens: boolean
  model: string | null
  /** Who called (null on public routes and for requests refused before a credential was accepted). */
  userId: number | null
  username: string | null
  keyId: string | null
  backend: string | null
  status: number
  errorCode: ErrorCode | undefined
  /** The final object's metrics, for routes that report them and completed. */
  usage: OllamaUsage | undefined
  /**
   * Pieces received from the backend: lines of an NDJSON stream, events of an SSE stream, else body chunks (an
   * estimate of the tokens generated when a reply was cut short).
   */
  chunks: number
  clientAborted: boolean
  bytesIn: number
  bytesOut: number
  clientIp: string
  /** How long the request waited in the gateway's queue for a slot (ms; 0 when it never waited). */
  queueMs: number
  /** performance.now() marks; dispatchedAt (sent upstream) and firstByteAt are 0 when that never happened. */
  startedAt: number
  dispatchedAt: number
  firstByteAt: number
  endedAt: number
  /** For a refusal by a limit: which kind (rpm, tpm, daily_tokens, ...). */
  limitKind?: string
  /**
   * How the response cache took part (absent: it did not), why it was bypassed, and whether a hit's tokens count
   * (cache.count_tokens).
   */
  cache?: { readonly outcome: 'hit' | 'miss' | 'bypass'; readonly countsTokens: boolean; readonly reason?: string }
}

export type ExchangeEnd = (result: ExchangeResult) => void

/** The request as the forward stage gets it, filled in by the stages before it (the per-request state is one). */
export interface ExchangeRequest {
  readonly request: RequestSnapshot
  readonly route: ExchangeRoute
  readonly startedAt: number
  readonly principal: Principal | undefined
  /** The model the request runs, in its normal form (usage rows and per-model limits count it so). */
  readonly model: string | null
  /** What the limits admitted: its headers go on the response (the finish stage settles it). */
  readonly admission: Admission | undefined
  /** Makes the response's tap (token counts, and the changes an API makes to what the client gets). */
  readonly tapFactory: TapFactory | undefined
  /** It went through the gateway's queue (schedule stage), and how long it waited there: a Server-Timing entry. */
  readonly queued: boolean
  readonly queueMs: number
  /** How the response cache took part (miss or bypass here): said in the x-parallama-cache header. */
  readonly cache: { readonly outcome: string } | undefined
}

/** What an exchange reports when it ends, for the finish stage to build the request's result from. */
export interface ExchangeOutcome {
  /** null: no backend saw the request (the gateway answered it: finish's withoutBackend). */
  readonly backendName: string | null
  readonly status: number
  readonly usage: OllamaUsage | undefined
  readonly chunks: number
  readonly clientAborted: boolean
  readonly bytesOut: number
  readonly dispatchedAt: number
  readonly firstByteAt: number
  /** The request never reached a backend (each one tried refused the connection): it used no tokens. */
  readonly unsent: boolean
}

/** What the forward stage needs, and nothing else. */
export interface ForwardDeps<S extends ExchangeRequest> {
  config: LiveConfig
  /** The route stage's picker, asked again for a retry before the first byte. */
  pick: (skip: readonly Backend[] | undefined, model: string | null, state: S) => Backend | undefined
  /** Exchanges in progress, for a graceful shutdown to wait for (and, past its deadline, to end). */
  inFlight: Set<Exchange<S>>
  /** Headers naming the tokens (and cost) of a whole reply, flat [name, value, ...]. */
  usageHeaders?: (model: string | null, usage: OllamaUsage) => string[] | undefined
  /** Plugins slot (response taps): sees every chunk after the route's own tap; absent = nothing runs. */
  onResponseChunk?: (state: S, chunk: Buffer) => void
  /** Plugins slot (response head): told the status and content type, returns headers to add (flat) or undefined. */
  onResponseHead?: (state: S, status: number, contentType: string) => readonly string[] | undefined
  /** The finish stage, called exactly once. */
  finish: (state: S, outcome: ExchangeOutcome, error: GatewayError | undefined) => void
  /**
   * A request holding a scheduler slot whose backend failed before answering, with no free slot elsewhere (pick found
   * none): it waits for one on a backend not in `tried`; `go` says which (undefined: refused). Returns how to leave
   * the line; undefined when the request cannot wait (it holds no slot). Absent: no waiting.
   */
  waitSlot?: (
    tried: readonly Backend[],
    state: S,
    go: (backend: Backend | undefined) => void,
  ) => (() => void) | undefined
}

/**
 * The forward and response-tap stages of one request: dispatched through undici's handler API (controller: pause,
 * resume, abort), its response tapped and streamed to the client. Every input comes in through the constructor.
 */
export class Exchange<S extends ExchangeRequest = ExchangeRequest>
  implements Dispatcher.DispatchHandler, ExchangeOutcome
{
  private controller: Dispatcher.DispatchController | undefined
  /** Why we cancelled the upstream request, kept so that a request not yet connected is cancelled on connect. */
  private abortReason: ExchangeAbort | undefined
  private streamer: ResponseStreamer | undefined
  /** Collected pieces of a small body sent whole at the end. */
  private wholeBody: Buffer[] | undefined
  private head: string[] | undefined
  private ndjson = false
  status = 0
  private gatewayError: GatewayError | undefined
  private finished = false
  bytesOut = 0
  chunks = 0
  firstByteAt = 0
  dispatchedAt = 0
  unsent = false
  /** The Server-Timing value of the response head: what the gateway took, and the upstream's first byte. */
  private timing = ''
  private totalTimer: NodeJS.Timeout | undefined
  private tap: ResponseTap | undefined
  private sse = false
  usage: OllamaUsage | undefined
  private readonly tried: Backend[] = []
  /** Set while it waits in the gateway's queue for a slot elsewhere after a failure (waitSlot): leaves the line. */
  private leaveQueue: (() => void) | undefined = undefined
  private contentLength = -1

  /**
   * `reply` is the only way to the uWS response: once the client left or has its answer (`reply.closed`), nothing is
   * written and the upstream's outcome is only recorded. `res.onAborted` must point at `clientAborted` before start.
   */
  constructor(
    readonly reply: ClientReply,
    private readonly state: S,
    private readonly deps: ForwardDeps<S>,
    private readonly body: Buffer | Readable | null,
    private backend: Backend,
  ) {}

  get backendName(): string {
    return this.backend.name
  }

  get clientAborted(): boolean {
    return this.reply.aborted
  }

  /** Starts the upstream request, and the total timeout. */
  start(): void {
    const total = this.deps.config.current.timeouts.total
    if (total > 0) this.totalTimer = setTimeout(() => this.cancel(new ExchangeAbort('total_timeout')), total)
    this.deps.inFlight.add(this)
    this.dispatch()
  }

  private dispatch(): void {
    const { backend, state } = this
    this.tried.push(backend)
    backend.dispatched(state.model)
    this.dispatchedAt = performance.now()
    const { request, route } = state
    const timeouts = this.deps.config.current.timeouts
    backend.pool.dispatch(
      {
        path: request.query ? `${route.upstreamPath}?${request.query}` : route.upstreamPath,
        method: request.method,
        headers: request.forwardHeaders,
        body: this.body,
        headersTimeout: timeouts.first_byte,
        bodyTimeout: timeouts.idle,
      },
      this,
    )
  }

  readonly onClientAborted = (): void => {
    this.reply.markAborted()
    if (this.body && !Buffer.isBuffer(this.body)) this.body.destroy()
    this.cancel(new ExchangeAbort('client_gone'))
  }

  /** Whether the response streams (a long reply) rather than going out whole. */
  get streaming(): boolean {
    return this.streamer !== undefined
  }

  /** Ends the request because the gateway stops: the client gets an error answer, or its stream's error ending. */
  shutdown(): void {
    this.cancel(new ExchangeAbort('shutdown'))
  }

  /**
   * Cancels the upstream request. One still queued in the pool (waiting for a connection) has no controller yet:
   * undici cancels it when it would start it (onRequestStart), but the request ends now — answered, if its client is
   * still there, and finished: its caller's limits (a concurrency slot) must not wait for a connection to free.
   */
  private cancel(reason: ExchangeAbort): void {
    this.abortReason ??= reason
    if (this.controller) return this.controller.abort(reason)
    if (reason.reason !== 'client_gone') {
      const error = errorBeforeResponse(reason, backendLabel(this.backend, this.state.principal))
      if (this.answerError(error)) this.gatewayError = error
    }
    this.finish(this.gatewayError)
  }

  /** Answers the client an error in the route's dialect (with the limits' headers), once; false when already closed. */
  private answerError(error: GatewayError): boolean {
    const { request, route, startedAt, admission } = this.state
    const answered = this.reply.endWith((res) =>
      writeError(res, route.dialect, request.requestId, error, false, startedAt, admission?.headers),
    )
    if (answered) this.status = error.status
    return answered
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abortReason) controller.abort(this.abortReason)
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // Informational responses (102 Processing, 103 Early Hints) come before the real one: undici reports each here and
    // then the final head. Nothing of them goes to the client (uWS cannot send a 1xx); 101 never comes (undici refuses
    // an upgrade nobody asked for, and 100 Continue, as a broken response).
    if (status < 200) return
    const failed = statusRetryReason(status)
    if (failed === undefined) this.backend.recordSuccess()
    else {
      this.backend.recordFailure(`status ${status}`, Date.now())
      // Nothing of this answer went to the client yet: another backend may take the request (retryPolicy.ts).
      if (this.failOver(failed, controller)) return
    }
    const { state } = this
    this.firstByteAt = performance.now()
    this.status = status
    const head = readUpstreamHead(headers, state.request.requestId)
    if (state.admission) head.headers.push(...state.admission.headers)
    if (state.cache) head.headers.push('x-parallama-cache', state.cache.outcome)
    // What Parallama itself took before the request went upstream (its wait in the queue is its own entry), then the
    // backend's time to its first byte.
    this.timing = `${queueTiming(state)}gateway;dur=${ms(this.dispatchedAt - state.startedAt - state.queueMs)}, upstream;dur=${ms(this.firstByteAt - this.dispatchedAt)}`
    // Ollama's "server busy" carries no Retry-After; clients that back off on 503 look for one.
    if (status === 503 && !head.hasRetryAfter) head.headers.push('retry-after', '1')
    this.ndjson = head.contentType.startsWith('application/x-ndjson')
    this.sse = head.contentType.startsWith('text/event-stream')
    this.tap = state.tapFactory?.(status, head.contentType)
    const added = this.deps.onResponseHead?.(state, status, head.contentType)
    if (added) head.headers.push(...added)
    this.head = head.headers
    this.contentLength = head.contentLength
    if (this.reply.closed) return controller.pause()
    if (state.request.method === 'HEAD' || status === 204 || status === 304) {
      this.wholeBody = []
    } else if (head.contentLength >= 0 && head.contentLength <= wholeBodyLimit) {
      this.wholeBody = []
    } else {
      this.streamer = new ResponseStreamer(this.reply)
      // Backpressure: the upstream is paused while the client is behind, and resumed once it drained.
      this.streamer.onDrain = () => controller.resume()
      head.headers.push('server-timing', this.timing)
      this.streamer.start(status, head.headers)
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // A stream's pieces are counted as Ollama writes them (a line, an event: about one token each), not as the
    // network happened to group them: a slow reader must not make a cut-short reply look smaller than it was.
    this.chunks += this.ndjson ? occurrences(chunk, lineEnd) : this.sse ? occurrences(chunk, eventEnd) : 1
    const out = this.tap ? this.tap.push(chunk) : chunk
    if (out === undefined) return
    this.deps.onResponseChunk?.(this.state, out)
    this.bytesOut += out.length
    if (this.wholeBody) this.wholeBody.push(out)
    else if (!this.streamer || !this.streamer.push(out)) controller.pause()
  }

  onResponseEnd(): void {
    const rest = this.tap?.end()
    this.usage = this.tap?.usage()
    if (rest) {
      this.deps.onResponseChunk?.(this.state, rest)
      this.bytesOut += rest.length
      if (this.wholeBody) this.wholeBody.push(rest)
      else this.streamer?.push(rest)
    }
    if (this.wholeBody) this.reply.endWith(this.sendWhole)
    else this.streamer?.end()
    this.finish(undefined)
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    // The answer we dropped to fail over (failOver): the request lives on at the next backend.
    if (error === failingOver) return
    if (this.reply.closed) return this.finish(this.gatewayError)
    const backend = this.backend
    const failed = errorRetryReason(error)
    if (failed) backend.recordFailure((error as { code?: string }).code ?? failed, Date.now())
    if (failed && this.firstByteAt === 0 && this.failOver(failed, undefined, error)) return
    this.unsent = this.firstByteAt === 0 && neverReachedBackend(error)
    const label = backendLabel(backend, this.state.principal)
    const failure = errorBeforeResponse(error, label)
    if (!this.streamer) {
      this.answerError(failure)
      return this.finish(failure)
    }
    // Mid-stream: end NDJSON with Ollama's own error line; anything else must not look complete. (Recorded first:
    // closing the connection runs onAborted, which would make this look like the client's doing.)
    this.finish(failure)
    const message = errorMidStream(error, label)
    const lastEvent = this.sse ? errorEvent(this.state.route.dialect, message, failure.code) : undefined
    if (this.ndjson) {
      this.streamer.push(Buffer.from(JSON.stringify({ error: message }) + '\n'))
      this.streamer.end()
    } else if (lastEvent) {
      // OpenAI's and Anthropic's clients raise an error event as an error; the missing [DONE] says it is incomplete.
      this.streamer.push(Buffer.from(lastEvent))
      this.streamer.end()
    } else {
      this.streamer.close()
    }
  }

  /**
   * A request that failed before its first byte reached the client goes to another backend that has its model, with
   * the same request id, while upstream.retries allows (retryPolicy.ts). `answering`: the controller of a failed
   * response head, dropped.
   */
  private failOver(reason: RetryReason, answering?: Dispatcher.DispatchController, error?: Error): boolean {
    if (this.reply.closed) return false
    if (!mayRetry(this.tried.length, this.deps.config.current.upstream.retries, this.body)) return false
    const { model } = this.state
    const next = this.deps.pick(this.tried, model, this.state)
    if (!next && error !== undefined && this.deps.waitSlot) {
      // A scheduled request no backend answered (refused, reset, no head in time) and no slot free elsewhere right
      // now: it waits for one, rather than being answered an error while another backend would serve it shortly.
      // (A failed head, `answering`, is not held back: its answer goes out.)
      const leave = this.deps.waitSlot(this.tried, this.state, (backend) => this.resume(backend, error))
      if (leave !== undefined) {
        this.backend.countRetry(reason)
        this.controller = undefined
        this.leaveQueue = leave
        return true
      }
    }
    if (!next || (model !== null && !next.installed(model))) return false
    this.backend.countRetry(reason)
    this.backend.outstanding--
    answering?.abort(failingOver)
    this.controller = undefined
    this.backend = next
    this.dispatch()
    return true
  }

  private readonly sendWhole = (res: HttpResponse): void => {
    const { state } = this
    writeStatus(res, this.status)
    const head = this.head!
    for (let i = 0; i < head.length; i += 2) res.writeHeader(head[i]!, head[i + 1]!)
    res.writeHeader('server-timing', `${this.timing}, total;dur=${ms(performance.now() - state.startedAt)}`)
    // A whole reply's counts are known before its headers go out: say what it cost.
    const costHeaders = this.usage && this.deps.usageHeaders?.(state.model, this.usage)
    if (costHeaders)
      for (let i = 0; i < costHeaders.length; i += 2) res.writeHeader(costHeaders[i]!, costHeaders[i + 1]!)
    const parts = this.wholeBody!
    // A reply a tap rewrites (a model list filtered for the credential) has another length than the backend's: a HEAD
    // must not tell the unfiltered one.
    if (state.request.method === 'HEAD') {
      // The length goes in as a header: given to endWithoutBody, this uWS build waits for that many more bytes and
      // never ends the response, so the next request on the connection would get no answer (test/http/headAnswers).
      if (this.contentLength >= 0 && !this.tap) res.writeHeader('content-length', String(this.contentLength))
      res.endWithoutBody()
    } else res.end(parts.length === 1 ? parts[0] : Buffer.concat(parts))
  }

  /** After waitSlot: on to the backend whose slot came free, or (refused) answered the failure that sent it there. */
  private resume(backend: Backend | undefined, error: Error): void {
    this.leaveQueue = undefined
    if (this.finished) return
    if (backend === undefined || this.reply.closed) {
      this.unsent = neverReachedBackend(error)
      const failure = errorBeforeResponse(error, backendLabel(this.backend, this.state.principal))
      this.answerError(failure)
      return this.finish(failure)
    }
    this.backend.outstanding--
    this.backend = backend
    this.dispatch()
  }

  /** Hands the outcome to the finish stage, once (which settles the limits and builds the request's result). */
  private finish(error: GatewayError | undefined): void {
    if (this.finished) return
    this.finished = true
    // Ended (client gone, total timeout, shutdown) while waiting for a slot elsewhere: out of the line.
    this.leaveQueue?.()
    this.leaveQueue = undefined
    this.deps.inFlight.delete(this)
    this.backend.outstanding--
    if (this.totalTimer) clearTimeout(this.totalTimer)
    this.deps.finish(this.state, this, error)
  }
}

/** The reason a failed answer is dropped with when its request fails over (onResponseError ignores it). */
const failingOver = new Error('failing over to another backend')

const lineEnd = Buffer.from('\n')
const eventEnd = Buffer.from('\n\n')

/** How many times `separator` occurs in `chunk` (one that straddles two chunks is not counted). */
function occurrences(chunk: Buffer, separator: Buffer): number {
  let at = chunk.indexOf(separator)
  // The common case, one line or event per chunk: a single search.
  if (at < 0 || at === chunk.length - separator.length) return at < 0 ? 0 : 1
  let count = 0
  for (; at >= 0; at = chunk.indexOf(separator, at + separator.length)) count++
  return count
}

/** Milliseconds with 0.1 precision, as Server-Timing durations are read. */
function ms(value: number): string {
  return (Math.round(value * 10) / 10).toString()
}
