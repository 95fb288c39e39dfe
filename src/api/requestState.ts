// The one per-request state object: built once when a proxied request arrives, filled in by the stages in their order
// (docs/development.md, "A request's stages"), read by the forward stage and by finish. Fields start defined so that
// every request has the same object shape (one hidden class on the hot path).
import type { Readable } from 'node:stream'
import type { Principal } from '../auth/principal.js'
import type { ClientReply } from '../http/clientReply.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { Admission } from '../limits/limiter.js'
import type { Backend } from '../proxy/backends.js'
import type { Exchange, ExchangeRequest, ExchangeRoute } from '../proxy/exchange.js'
import type { TapFactory } from '../proxy/responseTap.js'
import type { RequestPlugins } from '../plugins/chain.js'
import type { Grant, Ticket } from '../scheduler/schedulerTypes.js'
import type { CacheTicket } from '../cache/cacheStage.js'
import type { RequestFields } from './requestFields.js'

export class RequestState implements ExchangeRequest {
  /** authenticate: who calls (undefined on a public route). */
  principal: Principal | undefined = undefined
  /** read fields: what the body (or the path) says; the model in its normal form. */
  fields: RequestFields | undefined = undefined
  model: string | null = null
  /** read fields: the bytes that will go upstream (the client's, or rewritten), and how many the client sent. */
  body: Buffer | Readable | null = null
  bytesIn = 0
  /** address guard and limits: what they admitted, settled by finish. */
  addressAdmission: Admission | undefined = undefined
  admission: Admission | undefined = undefined
  /** limits: set once the request's own admission was asked for (granted, or refused with its 429). */
  limitsAsked = false
  /** plugins: this request's view of the plugin chain (undefined without plugins), read by the taps and finish. */
  plugins: RequestPlugins | undefined = undefined
  /** cache: how the response cache took part (undefined: it did not: off, or a route it does not serve). */
  cache: CacheTicket | undefined = undefined
  /**
   * schedule: set when the request went through the gateway's queue (src/scheduler/), and how long it waited there
   * (ms; 0 when a slot was free). Finish writes queueMs into the usage row; `queued` decides the Server-Timing entry.
   */
  queued = false
  queueMs = 0
  /** schedule: the place in line while waiting, then the slot held until finish (inference routes). */
  ticket: Ticket | undefined = undefined
  grant: Grant<Backend> | undefined = undefined
  /** Takes a waiting request out of the line (its client left). */
  leaveQueue: (() => void) | undefined = undefined
  /** route: the backend picked. */
  backend: Backend | undefined = undefined
  tapFactory: TapFactory | undefined = undefined
  /** forward: the exchange in progress. */
  reply: ClientReply | undefined = undefined
  exchange: Exchange<RequestState> | undefined = undefined
  /** finish: set once the request's result is out (there is exactly one per request). */
  ended = false

  constructor(
    readonly request: RequestSnapshot,
    /** The route, with the upstream path this request goes to (set by read fields for a path made per request). */
    public route: ExchangeRoute,
    readonly startedAt: number,
  ) {}
}
