// Verifies API keys on the request path: shape and checksum first (garbage never reaches SQLite), then the SHA-256
// in a bounded LRU of principals, then one prepared-statement lookup on a miss; unknown keys are remembered in a small
// negative cache so a flood of wrong keys cannot hammer the database. What a key may do is checked on every request,
// so expiry needs no eviction; revocation and other changes evict through the change feed.
import { timingSafeEqual } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { GatewayError } from '../errors.js'
import type { KeyOwner, KeyStore } from '../store/apiKeys.js'
import type { Change } from '../store/changeFeed.js'
import { checksumMatches, hasKeyShape, hashKeyText } from './apiKeyFormat.js'
import { authFailure } from './authErrors.js'
import { addressPolicy } from './callerAddress.js'
import { compileAllowList } from './modelAllowList.js'
import { rolePermissions } from './permissions.js'
import type { Principal } from './principal.js'

export interface KeyVerifierOptions {
  cacheSize: number
  cacheTtlMs: number
  negativeCacheSize: number
  negativeCacheTtlMs: number
  now?: () => number
}

export class KeyVerifier {
  private readonly principals: LRUCache<string, Principal>
  private readonly unknown: LRUCache<string, true>
  private readonly now: () => number
  /** Last use per key id, written to the database in batches. */
  readonly lastUsed = new Map<string, number>()
  /** Cache hits, database lookups and negative-cache hits since start (for metrics). */
  readonly stats = { hits: 0, lookups: 0, negativeHits: 0 }

  constructor(
    private readonly keys: KeyStore,
    options: KeyVerifierOptions,
  ) {
    this.now = options.now ?? Date.now
    const perf = { now: this.now }
    this.principals = new LRUCache({ max: options.cacheSize, ttl: options.cacheTtlMs, ttlAutopurge: false, perf })
    this.unknown = new LRUCache({ max: options.negativeCacheSize, ttl: options.negativeCacheTtlMs, perf })
  }

  /** The principal for a presented key, or the failure to answer with. */
  verify(key: string): Principal | GatewayError {
    if (!hasKeyShape(key)) return authFailure('invalid_api_key')
    const cacheKey = hashKeyText(key)
    let principal = this.principals.get(cacheKey)
    if (principal) this.stats.hits++
    else {
      // Only a key not in the cache pays for its checksum: garbage stops here, before SQLite.
      if (!checksumMatches(key)) return authFailure('invalid_api_key', 'invalid API key (checksum mismatch)')
      if (this.unknown.has(cacheKey)) {
        this.stats.negativeHits++
        return authFailure('invalid_api_key')
      }
      this.stats.lookups++
      const hash = Buffer.from(cacheKey, 'base64')
      const owner = this.keys.findByHash(hash)
      if (!owner || !timingSafeEqual(owner.hash, hash)) {
        this.unknown.set(cacheKey, true)
        return authFailure('invalid_api_key')
      }
      const makers = owner.createdByKey === null ? noMakers : this.keys.makersOf(owner.id)
      // The makers' allow_ip fence the key in too: read now, and again when one of them changes (apply).
      const makerRanges = makers.map((id) => this.keys.find(id)?.allowIp ?? null)
      principal = toPrincipal(owner, makers, makerRanges)
      this.principals.set(cacheKey, principal)
    }
    const now = this.now()
    const refusal = refusalOf(principal, now)
    if (refusal) return refusal
    this.lastUsed.set(principal.keyId!, now)
    return principal
  }

  /**
   * The principal of the key `id` as it stands now (not cached: read for work done later on the key's behalf, such as
   * a batch's lines), or why it no longer works.
   */
  byId(id: string): Principal | GatewayError {
    const owner = this.keys.findOwner(id)
    if (!owner) return authFailure('key_revoked', 'the API key that made this work no longer exists')
    const makers = owner.createdByKey === null ? noMakers : this.keys.makersOf(owner.id)
    const makerRanges = makers.map((maker) => this.keys.find(maker)?.allowIp ?? null)
    const principal = toPrincipal(owner, makers, makerRanges)
    return refusalOf(principal, this.now()) ?? principal
  }

  /** Forgets the principals a batch of changes names (all of them when a change names none). */
  apply(changes: Change[]): void {
    const keyIds = new Set<string>()
    const userIds = new Set<number>()
    for (const change of changes) {
      if (change.kind === 'key_created' || change.kind === 'token_revoked' || change.kind === 'limits_changed') continue
      if (change.keyId !== null) keyIds.add(change.keyId)
      else if (change.userId !== null) userIds.add(change.userId)
      else return this.principals.clear()
    }
    if (keyIds.size === 0 && userIds.size === 0) return
    for (const [cacheKey, principal] of this.principals.entries()) {
      const changed =
        keyIds.has(principal.keyId!) ||
        userIds.has(principal.userId) ||
        principal.makers?.some((id) => keyIds.has(id)) === true
      if (changed) this.principals.delete(cacheKey)
    }
  }

  /** Takes the last-use times gathered since the previous call. */
  takeLastUsed(): Map<string, number> {
    const batch = new Map(this.lastUsed)
    this.lastUsed.clear()
    return batch
  }

  get cachedCount(): number {
    return this.principals.size
  }
}

function refusalOf(principal: Principal, now: number): GatewayError | undefined {
  if (principal.revoked) return authFailure('key_revoked')
  if (!principal.userActive) return authFailure('user_disabled')
  if (now >= principal.rotatedUntil) return authFailure('key_rotated')
  if (now >= principal.expiresAt) return authFailure('key_expired')
  return undefined
}

const noMakers: readonly string[] = []

function toPrincipal(
  owner: KeyOwner,
  makers: readonly string[],
  makerRanges: readonly (readonly string[] | null)[],
): Principal {
  const allowsAddress = addressPolicy(owner.allowIp, owner.userAllowIp, makerRanges)
  return {
    allowsAddress,
    signingSecret: owner.signingSecret ?? undefined,
    makers,
    userId: owner.userId,
    username: owner.username,
    role: owner.role,
    weight: owner.weight,
    permissions: rolePermissions[owner.role],
    keyId: owner.id,
    allowsModel: compileAllowList(owner.models),
    expiresAt: owner.expiresAt ?? Infinity,
    rotatedUntil: owner.validUntil ?? Infinity,
    revoked: owner.revokedAt !== null,
    userActive: owner.userActive,
  }
}
