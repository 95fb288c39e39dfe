// One proxied request: dispatched to a backend through undici's handler interface, its response streamed to the uWS
// client as it arrives. It is the hot path: no per-chunk allocation beyond what uWS and undici need, no parse of the
// body except the final line's fields (for routes that report usage).
import type { Logger } from '../logger.js'
import type { ModelAliases } from '../models/aliases.js'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { HttpResponse } from '../../native/uws.js'
import type { Config } from '../config/schema.js'
import type { Authenticate } from '../auth/admit.js'
import type { Principal } from '../auth/principal.js'
import type { ErrorCode, GatewayError } from '../errors.js'
import type { Admission, RouteLimits } from '../limits/limiter.js'
import { errorEvent, writeError, type Dialect } from '../http/errorResponse.js'
import type { ResponseTap, TapFactory } from './responseTap.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import { ResponseStreamer } from '../http/responseStreamer.js'
import { ClientReply } from '../http/clientReply.js'
import { statusLine } from '../http/status.js'
import { markDown, type Backend } from './backends.js'
import { readUpstreamHead } from './responseHeaders.js'
import {
  backendLabel,
  errorBeforeResponse,
  errorMidStream,
  ExchangeAbort,
  neverReachedBackend,
} from './upstreamErrors.js'
import type { OllamaUsage } from './usageSniffer.js'
import type { PluginHost } from '../plugins/loader.js'
import type { RequestPlugins } from '../plugins/chain.js'

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
}

/** How one request ended, proxied or refused: what usage accounting, metrics and tests read. */
export interface ExchangeResult {
  requestId: string
  /** When the request arrived (ms since epoch). */
  time: number
  api: string
  route: string
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
  /** performance.now() marks; dispatchedAt (sent upstream) and firstByteAt are 0 when that never happened. */
  startedAt: number
  dispatchedAt: number
  firstByteAt: number
  endedAt: number
  /** For a refusal by a limit: which kind (rpm, tpm, daily_tokens, ...). */
  limitKind?: string
}

export type ExchangeEnd = (result: ExchangeResult) => void

/** What an exchange needs: the route limits (address guard and the caller's admission) and the rest below. */
export interface ExchangeContext extends RouteLimits {
  config: Config
  authenticate: Authenticate
  backends: Backend[]
  pick: (skip?: Backend[]) => Backend | undefined
  onEnd: ExchangeEnd | undefined
  /** Headers naming the tokens (and cost) of a whole reply, flat [name, value, ...]. */
  usageHeaders?: (model: string | null, usage: OllamaUsage) => string[] | undefined
  /** Where a handler's unexpected failure is logged. */
  logger?: Logger
  /** Model aliases from the config, resolved in request bodies. */
  aliases: ModelAliases
  /** Exchanges in progress, for a graceful shutdown to wait for (and, past its deadline, to end). */
  live?: Set<Exchange>
  /** Set while shutting down: new requests are refused (503 shutting_down) so that the drain can end. */
  draining?: boolean
  /** plugins: the loaded plugin chain (src/plugins/); its `chain` is undefined when no plugin is configured. */
  plugins?: PluginHost
  /** Bench only: every route public, to measure what identity costs (see GatewayOptions.parts). */
  open?: boolean
}

export class Exchange implements Dispatcher.DispatchHandler {
  private abortUpstream: ((reason: Error) => void) | undefined
  /** Why we cancelled the upstream request, kept so that a request not yet connected is cancelled on connect. */
  private abortReason: ExchangeAbort | undefined
  private resumeUpstream: (() => void) | undefined
  private streamer: ResponseStreamer | undefined
  /** Collected pieces of a small body sent whole at the end. */
  private wholeBody: Buffer[] | undefined
  private head: string[] | undefined
  private ndjson = false
  private status = 0
  /**
   * The only way to the uWS response: once the client left or has its answer (`reply.closed`), nothing is written and
   * the upstream's outcome is only recorded.
   */
  readonly reply: ClientReply
  private gatewayError: GatewayError | undefined
  private finished = false
  private bytesOut = 0
  private chunks = 0
  /** The model the request names (set by the route handler once the body is read). */
  model: string | null = null
  /** What the rate limits admitted: its headers go on the response, and it is released when the request ends. */
  admission: Admission | undefined
  /** What the client address's limits admitted, released when the request ends. */
  addressAdmission: Admission | undefined
  bytesIn = 0
  private firstByteAt = 0
  private dispatchedAt = 0
  /** The Server-Timing value of the response head: what the gateway took, and the upstream's first byte. */
  private timing = ''
  private totalTimer: NodeJS.Timeout | undefined
  /** Makes the response's tap (token counts, and the changes an API makes to what the client gets). */
  tapFactory: TapFactory | undefined
  private tap: ResponseTap | undefined
  /** plugins: this request's view of the plugin chain (undefined without plugins). */
  plugins: RequestPlugins | undefined
  private sse = false
  private usage: OllamaUsage | undefined
  private readonly tried: Backend[] = []
  private backend!: Backend
  private body: Buffer | Readable | null = null
  private contentLength = -1

  constructor(
    res: HttpResponse,
    private readonly request: RequestSnapshot,
    private readonly route: ExchangeRoute,
    private readonly context: ExchangeContext,
    private readonly startedAt: number,
    private readonly principal: Principal | undefined,
  ) {
    this.reply = new ClientReply(res)
  }

  /** Starts the upstream request; `res.onAborted` must already point at `clientAborted`. */
  start(body: Buffer | Readable | null, backend: Backend): void {
    const total = this.context.config.timeouts.total
    if (total > 0 && !this.totalTimer) {
      this.totalTimer = setTimeout(() => this.cancel(new ExchangeAbort('total_timeout')), total)
    }
    this.backend = backend
    this.tried.push(backend)
    this.context.live?.add(this)
    backend.outstanding++
    this.body = body
    this.dispatchedAt = performance.now()
    const { request, context } = this
    backend.pool.dispatch(
      {
        path: request.query ? `${this.route.upstreamPath}?${request.query}` : this.route.upstreamPath,
        method: request.method,
        headers: request.forwardHeaders,
        body,
        headersTimeout: context.config.timeouts.first_byte,
        bodyTimeout: context.config.timeouts.idle,
      },
      this,
    )
  }

  readonly clientAborted = (): void => {
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
   * Cancels the upstream request. One still queued in the pool has no abort function yet: it is cancelled when undici
   * connects it, and a client waiting past timeouts.total is answered now rather than then.
   */
  private cancel(reason: ExchangeAbort): void {
    this.abortReason ??= reason
    if (this.abortUpstream) return this.abortUpstream(reason)
    if (reason.reason === 'client_gone') return
    const error = errorBeforeResponse(reason, backendLabel(this.backend, this.principal))
    if (
      this.reply.endWith((res) =>
        writeError(
          res,
          this.route.dialect,
          this.request.requestId,
          error,
          false,
          this.startedAt,
          this.admission?.headers,
        ),
      )
    ) {
      this.gatewayError = error
      this.status = error.status
    }
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort
    if (this.abortReason) abort(this.abortReason)
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // Informational responses (102 Processing, 103 Early Hints) come before the real one: undici reports each here and
    // then the final head. Nothing of them goes to the client (uWS cannot send a 1xx); 101 never comes (undici refuses
    // an upgrade nobody asked for, and 100 Continue, as a broken response).
    if (status < 200) return true
    this.firstByteAt = performance.now()
    this.status = status
    this.resumeUpstream = resume
    const head = readUpstreamHead(rawHeaders, this.request.requestId)
    if (this.admission) head.headers.push(...this.admission.headers)
    // What Parallama itself took before the request went upstream, then the backend's time to its first byte.
    this.timing = `gateway;dur=${ms(this.dispatchedAt - this.startedAt)}, upstream;dur=${ms(this.firstByteAt - this.dispatchedAt)}`
    // Ollama's "server busy" carries no Retry-After; clients that back off on 503 look for one.
    if (status === 503 && !head.hasRetryAfter) head.headers.push('retry-after', '1')
    this.ndjson = head.contentType.startsWith('application/x-ndjson')
    this.sse = head.contentType.startsWith('text/event-stream')
    this.tap = this.tapFactory?.(status, head.contentType)
    // plugins: the head for onResponseChunk's info, and the response headers plugins add.
    if (this.plugins) {
      this.plugins.head(status, head.contentType)
      if (this.plugins.headers) head.headers.push(...this.plugins.headers)
    }
    this.head = head.headers
    this.contentLength = head.contentLength
    if (this.reply.closed) return false
    if (this.request.method === 'HEAD' || status === 204 || status === 304) {
      this.wholeBody = []
    } else if (head.contentLength >= 0 && head.contentLength <= wholeBodyLimit) {
      this.wholeBody = []
    } else {
      this.streamer = new ResponseStreamer(this.reply)
      this.streamer.onDrain = this.resumeUpstream
      head.headers.push('server-timing', this.timing)
      this.streamer.start(status, head.headers)
    }
    return true
  }

  onData(chunk: Buffer): boolean {
    // A stream's pieces are counted as Ollama writes them (a line, an event: about one token each), not as the
    // network happened to group them: a slow reader must not make a cut-short reply look smaller than it was.
    this.chunks += this.ndjson ? occurrences(chunk, lineEnd) : this.sse ? occurrences(chunk, eventEnd) : 1
    const out = this.tap ? this.tap.push(chunk) : chunk
    if (out === undefined) return true
    this.plugins?.chunk(out) // plugins: every chunk the client gets
    this.bytesOut += out.length
    if (this.wholeBody) {
      this.wholeBody.push(out)
      return true
    }
    return this.streamer ? this.streamer.push(out) : false
  }

  onComplete(): void {
    const rest = this.tap?.end()
    this.usage = this.tap?.usage()
    if (rest) {
      this.plugins?.chunk(rest) // plugins: the tap's last piece too
      this.bytesOut += rest.length
      if (this.wholeBody) this.wholeBody.push(rest)
      else this.streamer?.push(rest)
    }
    if (this.wholeBody) this.reply.endWith(this.sendWhole)
    else this.streamer?.end()
    this.finish(undefined)
  }

  onError(error: Error): void {
    if (this.reply.closed) return this.finish(this.gatewayError)
    const backend = this.backend
    if (neverReachedBackend(error)) markDown(backend)
    if (this.firstByteAt === 0 && neverReachedBackend(error) && this.retry()) return
    if (!this.streamer) {
      const gatewayError = errorBeforeResponse(error, backendLabel(backend, this.principal))
      this.reply.endWith((res) =>
        writeError(
          res,
          this.route.dialect,
          this.request.requestId,
          gatewayError,
          false,
          this.startedAt,
          this.admission?.headers,
        ),
      )
      this.status = gatewayError.status
      return this.finish(gatewayError)
    }
    // Mid-stream: end NDJSON with Ollama's own error line; anything else must not look complete. (Recorded first:
    // closing the connection runs onAborted, which would make this look like the client's doing.)
    const label = backendLabel(backend, this.principal)
    const failure = errorBeforeResponse(error, label)
    this.finish(failure)
    const message = errorMidStream(error, label)
    const lastEvent = this.sse ? errorEvent(this.route.dialect, message, failure.code) : undefined
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

  /** A request that never reached its backend goes to another one, if there is one left to try. */
  private retry(): boolean {
    if (this.body && !Buffer.isBuffer(this.body)) return false
    const next = this.context.pick(this.tried)
    if (!next) return false
    this.backend.outstanding--
    this.abortUpstream = undefined
    this.start(this.body, next)
    return true
  }

  private readonly sendWhole = (res: HttpResponse): void => {
    res.writeStatus(statusLine(this.status))
    const head = this.head!
    for (let i = 0; i < head.length; i += 2) res.writeHeader(head[i]!, head[i + 1]!)
    res.writeHeader('server-timing', `${this.timing}, total;dur=${ms(performance.now() - this.startedAt)}`)
    // A whole reply's counts are known before its headers go out: say what it cost.
    const costHeaders = this.usage && this.context.usageHeaders?.(this.model, this.usage)
    if (costHeaders)
      for (let i = 0; i < costHeaders.length; i += 2) res.writeHeader(costHeaders[i]!, costHeaders[i + 1]!)
    const parts = this.wholeBody!
    // A reply a tap rewrites (a model list filtered for the credential) has another length than the backend's: a HEAD
    // must not tell the unfiltered one.
    if (this.request.method === 'HEAD') {
      // (Called without an argument when the length is unknown: uWS reads an undefined one as 2^63.)
      if (this.contentLength >= 0 && !this.tap) res.endWithoutBody(this.contentLength)
      else res.endWithoutBody()
    } else res.end(parts.length === 1 ? parts[0] : Buffer.concat(parts))
  }

  private finish(error: GatewayError | undefined): void {
    if (this.finished) return
    this.finished = true
    this.context.live?.delete(this)
    this.backend.outstanding--
    if (this.totalTimer) clearTimeout(this.totalTimer)
    const used =
      this.usage && !this.usage.error ? (this.usage.promptTokens ?? 0) + (this.usage.completionTokens ?? 0) : undefined
    this.admission?.release(used, this.chunks)
    this.addressAdmission?.release(undefined)
    const onEnd = this.context.onEnd
    if (!onEnd && !this.plugins) return
    const result: ExchangeResult = {
      requestId: this.request.requestId,
      time: this.request.time,
      api: this.route.api,
      route: this.route.name,
      model: this.model,
      userId: this.principal?.userId ?? null,
      username: this.principal?.username ?? null,
      keyId: this.principal?.keyId ?? null,
      backend: this.backend.name,
      status: this.status,
      errorCode: error?.code,
      usage: this.usage,
      chunks: this.chunks,
      clientAborted: this.reply.aborted,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      clientIp: this.request.clientIp,
      startedAt: this.startedAt,
      dispatchedAt: this.dispatchedAt,
      firstByteAt: this.firstByteAt,
      endedAt: performance.now(),
    }
    onEnd?.(result)
    this.plugins?.end(result) // plugins: onEnd, with the exact usage
  }
}

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
