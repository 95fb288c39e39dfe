// The stages of a proxied request, in the order they run, and what the composition (proxyHandler.ts) is given for
// each: only the stage implementations, no bag of callbacks. The gateway builds one set from config (server.ts); the
// bench builds its variants from the same stages with some replaced (bench/gatewayParts.ts); a test walks the order.
import type { TrustedProxies } from '../http/clientAddress.js'
import type { SignatureVerifier } from '../auth/requestSignature.js'
import type { AuthenticateStage } from '../auth/authenticateStage.js'
import type { AuthorizeStage } from '../auth/authorize.js'
import type { LiveConfig } from '../config/liveConfig.js'
import type { GatewayError } from '../errors.js'
import type { AdmitAddress } from '../limits/addressGuard.js'
import type { AdmitRequest } from '../limits/limitsStage.js'
import type { Logger } from '../logger.js'
import type { ForwardDeps } from '../proxy/exchange.js'
import type { Backend } from '../proxy/backends.js'
import type { PickBackend } from '../proxy/route.js'
import type { ScheduleStage } from '../scheduler/scheduleStage.js'
import type { PluginStages } from '../plugins/stages.js'
import type { CacheStage } from '../cache/cacheStage.js'
import type { FinishStage } from '../usage/finish.js'
import type { RequestFields } from './requestFields.js'
import type { RequestState } from './requestState.js'

/**
 * The order, as a request meets the stages (authorize has two halves: the route's permission with the credential,
 * before any body byte is read; the model allow-list once the fields name the models). `plugins` and `schedule` are
 * slots: absent, they cost nothing (so is
 * `cache`: it keys the body after the plugins' rewrite, and a hit goes straight to finish).
 */
export const stageOrder = [
  'addressGuard', // src/limits/addressGuard.ts
  'authenticate', // src/auth/authenticateStage.ts (with authorize's permission half)
  'readFields', // src/api/readFields.ts
  'authorize', // src/auth/authorize.ts (the model allow-list)
  'limits', // src/limits/limitsStage.ts
  'plugins', // src/plugins/ (onRequest) — slot
  'cache', // src/cache/cacheStage.ts (a hit answers here, without a backend) — slot
  'schedule', // src/scheduler/scheduleStage.ts (inference routes only)
  'route', // src/proxy/route.ts
  'forward', // src/proxy/exchange.ts (dispatch, backpressure, retry before the first byte)
  'responseTaps', // src/proxy/exchange.ts + the route's tap (and plugins' onResponseChunk)
  'finish', // src/usage/finish.ts
] as const

export type StageName = (typeof stageOrder)[number]

/**
 * Plugins' onRequest slot (src/plugins/stages.ts): undefined to go on at once (no chain, no onRequest hook, no body),
 * else the chain's decision to await — go on (with a body a plugin rewrote), refuse, or answer without a backend.
 */
export type PluginRequestStage = PluginStages['request']

/** Reads a JSON body's fields with the route's reader (a stage of its own so that it can be measured and replaced). */
export type ReadFieldsStage = (
  read: (body: Buffer) => RequestFields | GatewayError,
  body: Buffer,
) => RequestFields | GatewayError

export const readFieldsWith: ReadFieldsStage = (read, body) => read(body)

/** The stages before forwarding, in order: what a composition (server.ts, the bench's variants) chooses. */
export interface RequestStages {
  addressGuard: AdmitAddress
  authenticate: AuthenticateStage
  readFields: ReadFieldsStage
  authorize: AuthorizeStage
  limits: AdmitRequest
  plugins?: PluginRequestStage
  /** The response cache (cache.enabled): the entry that answers a request, or undefined to go on. */
  cache?: CacheStage
  /** Inference routes wait here for a slot (absent: nothing waits, the route stage picks). */
  schedule?: ScheduleStage<Backend>
  /** A scheduled request failing over before its first byte: a free slot on a backend not tried yet, or none. */
  moveSlot?: (state: RequestState, tried: readonly Backend[]) => Backend | undefined
  /** When moveSlot found none: it waits in the queue for a slot not on `tried` (scheduleStage.ts waitSlot). */
  waitSlot?: (
    state: RequestState,
    tried: readonly Backend[],
    go: (backend: Backend | undefined) => void,
  ) => (() => void) | undefined
  route: PickBackend
}

/** Every stage a proxied route runs, in order, and what the composition itself needs (the running config, draining). */
export interface ProxyStages extends RequestStages {
  config: LiveConfig
  /** The trusted proxies now (server.trusted_proxies): the snapshot finds the client behind them. */
  trustedProxies: () => TrustedProxies | undefined
  /** Signed requests' check (keys that require them); not a replaceable stage: a variant cannot drop it. */
  signatures: SignatureVerifier
  lifecycle: { readonly draining: boolean }
  /** Requests admitted and waiting on a stage before forward (the plugins): what a drain waits for, then refuses. */
  waiting: Set<{ shutdown(): void }>
  logger: Logger
  /** Forward and response taps: what an Exchange needs besides the request (finish and pick come from here). */
  forward: Omit<ForwardDeps<RequestState>, 'finish' | 'pick'>
  finish: FinishStage
}
