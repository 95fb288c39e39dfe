// The cache stage (src/api/pipeline.ts, after the plugins' onRequest, before schedule): decides whether the request
// may use the cache (cachePolicy.ts), keys it (cacheKey.ts) over the body that will go upstream — a plugin's rewrite
// included — and finds its entry. A hit is replayed by the composition (replay.ts); a miss that may be stored has its
// reply captured (replyCapture.ts) and stored by finish's consumer here once it completed.
import type { Readable } from 'node:stream'
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/schema.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'
import type { Backend } from '../proxy/backends.js'
import type { ExchangeResult } from '../proxy/exchange.js'
import { parseBody } from './canonicalBody.js'
import type { CacheEntry } from './cacheEntry.js'
import { cacheKey } from './cacheKey.js'
import {
  cacheControlOf,
  cacheRoutes,
  cacheUse,
  listSetting,
  type BypassReason,
  type PolicySettings,
} from './cachePolicy.js'
import { findHoles } from './freshIds.js'
import { modelDigest } from './modelDigest.js'
import { ReplyCapture } from './replyCapture.js'
import type { ResponseCache } from './responseCache.js'

export type CacheOutcome = 'hit' | 'miss' | 'bypass'

/** How the cache took part in one request: what finish, the usage row and the response header read. */
export class CacheTicket {
  key = ''
  reason: BypassReason | undefined = undefined
  /** A miss whose reply may be stored: its bytes as they come. */
  capture: ReplyCapture | undefined = undefined

  constructor(
    public outcome: CacheOutcome,
    /** A hit's tokens count against the caller's token limits (cache.count_tokens). */
    readonly countsTokens: boolean,
  ) {}
}

/** What the stage reads of a request's state, and where it leaves its ticket. */
export interface CacheRequest {
  readonly request: Pick<RequestSnapshot, 'forwardHeaders' | 'query'>
  readonly principal: Principal | undefined
  readonly model: string | null
  readonly body: Buffer | Readable | null
  cache: CacheTicket | undefined
}

/** The stage: the entry that answers the request (a hit), or undefined to go on to the backend. */
export type CacheStage = (state: CacheRequest, route: string) => CacheEntry | undefined

export interface CacheStageDeps {
  cache: ResponseCache
  backends: () => readonly Backend[]
  config: () => Config['cache']
}

export function cacheStage(deps: CacheStageDeps): CacheStage {
  const policyOf = policySettings()
  return (state, route) => {
    if (!cacheRoutes.has(route)) return undefined
    const settings = deps.config()
    const ticket = new CacheTicket('bypass', settings.count_tokens)
    state.cache = ticket
    const decided = decide(state, route, settings, policyOf(settings), deps.backends())
    if (typeof decided === 'string') {
      ticket.reason = decided
      deps.cache.countBypass(decided)
      return undefined
    }
    ticket.key = decided.key
    const entry = decided.read ? deps.cache.lookup(decided.key) : undefined
    if (entry) {
      ticket.outcome = 'hit'
      deps.cache.counts.hits++
      return entry
    }
    ticket.outcome = 'miss'
    deps.cache.counts.misses++
    if (decided.write) ticket.capture = new ReplyCapture(settings.max_entry_bytes)
    return undefined
  }
}

function decide(
  state: CacheRequest,
  route: string,
  settings: Config['cache'],
  policy: PolicySettings,
  backends: readonly Backend[],
): { key: string; read: boolean; write: boolean } | BypassReason {
  const body = state.body
  if (!Buffer.isBuffer(body)) return 'unreadable_body'
  if (body.length > settings.max_entry_bytes) return 'body_too_large'
  if (state.model === null) return 'no_model'
  const parsed = parseBody(body)
  if (parsed === undefined) return 'unreadable_body'
  const use = cacheUse(
    {
      route,
      role: state.principal?.role,
      keyId: state.principal?.keyId,
      cacheControl: cacheControlOf(state.request.forwardHeaders),
      body: parsed,
    },
    policy,
  )
  if (typeof use === 'string') return use
  const known = modelDigest(backends, state.model)
  if (typeof known === 'string') return known
  const digest = known.digest
  const scope = settings.scope === 'global' ? 'global' : `user:${state.principal?.userId ?? 'none'}`
  const key = cacheKey({ route, query: state.request.query, digest, scope, body: parsed })
  return { key, ...use }
}

/** The policy lists parsed once per config (a reload makes a new cache section). */
function policySettings(): (settings: Config['cache']) => PolicySettings {
  let from: Config['cache'] | undefined
  let made: PolicySettings | undefined
  return (settings) => {
    if (settings !== from || made === undefined) {
      from = settings
      made = {
        policy: settings.policy,
        allRoutes: listSetting(settings.all_routes),
        allRoles: listSetting(settings.all_roles),
        allKeys: listSetting(settings.all_keys),
      }
    }
    return made
  }
}

/** The state finish's consumer reads: the ticket, and who asked. */
export interface StoredRequest {
  readonly cache: CacheTicket | undefined
}

/**
 * finish's consumer: stores a miss's reply once it completed without error (status 200, its framing ended, the client
 * still there, no gateway error); anything else is dropped.
 */
export function storeReply(deps: Pick<CacheStageDeps, 'cache' | 'config'>) {
  return (result: ExchangeResult, state: StoredRequest): void => {
    const ticket = state.cache
    const capture = ticket?.capture
    if (!capture || ticket.outcome !== 'miss' || result.model === null) return
    ticket.capture = undefined
    if (result.status !== 200 || result.clientAborted || result.errorCode !== undefined) return
    if (result.usage?.error !== undefined) return
    const body = capture.completeBody()
    if (!body) return
    const now = deps.cache.now()
    deps.cache.save({
      key: ticket.key,
      route: `${result.api}.${result.route}`,
      model: result.model,
      userId: result.userId,
      contentType: capture.contentType,
      body,
      holes: result.api === 'openai' ? findHoles(body) : [],
      storedAt: now,
      expiresAt: now + deps.config().ttl,
    })
  }
}
