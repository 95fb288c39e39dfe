// Turns a presented credential into a principal, and keeps what it caches in step with the database: it watches the
// change feed and writes key last-use times in batches.
import { LRUCache } from 'lru-cache'
import { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import { ChangeWatcher, type Change } from '../store/changeFeed.js'
import type { Store } from '../store/store.js'
import { looksLikeKey } from './apiKeyFormat.js'
import { authFailure } from './authErrors.js'
import { addressPolicy } from './callerAddress.js'
import { looksLikeJwt, type AccessTokens } from './accessTokens.js'
import { KeyVerifier, type KeyVerifierOptions } from './keyVerifier.js'
import { rolePermissions, type Role } from './permissions.js'
import type { Principal } from './principal.js'

export interface AuthenticatorOptions extends KeyVerifierOptions {
  changePollMs: number
  lastUsedFlushMs: number
}

interface UserState {
  username: string
  role: Role
  active: boolean
  tokenEpoch: number
  weight: number
  /** The user's address allow-list, parsed once (undefined: every address). */
  allowsAddress: ((address: string) => boolean) | undefined
}

/** Remembered for a token whose user does not exist (deleted: its id never comes back). */
const noSuchUser: UserState = {
  username: '',
  role: 'readonly',
  active: false,
  tokenEpoch: -1,
  weight: 1,
  allowsAddress: undefined,
}

const everyModel = () => true

export class Authenticator {
  readonly keys: KeyVerifier
  private readonly watcher: ChangeWatcher
  /**
   * Users behind login tokens: their role, state and token epoch are read from here on every request, so changes
   * apply to live tokens. Kept current by the change feed (an entry is dropped when a change names its user).
   */
  private readonly users: LRUCache<number, UserState>
  private timers: NodeJS.Timeout[] = []

  constructor(
    private readonly store: Store,
    private readonly tokens: AccessTokens,
    private readonly options: AuthenticatorOptions,
    private readonly logger: Logger,
  ) {
    this.keys = new KeyVerifier(store.keys, options)
    this.users = new LRUCache({ max: 100_000, ttl: options.cacheTtlMs })
    this.watcher = new ChangeWatcher(store.db, store.feed, (changes) => this.apply(changes))
  }

  start(): void {
    this.watcher.start(this.options.changePollMs)
    this.loadDeniedTokens()
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(work, ms)
      timer.unref()
      this.timers.push(timer)
    }
    every(this.options.lastUsedFlushMs, () => this.flushLastUsed())
    every(3_600_000, () => this.prune())
  }

  /** Others that keep caches of the database (the limiter) hear of changes here too. */
  readonly changeListeners: ((changes: Change[]) => void)[] = []

  private apply(changes: Change[]): void {
    this.keys.apply(changes)
    for (const listener of this.changeListeners) listener(changes)
    let revoked = false
    for (const change of changes) {
      if (change.userId !== null) this.users.delete(change.userId)
      if (change.kind === 'token_revoked') revoked = true
    }
    if (revoked) this.loadDeniedTokens()
  }

  private loadDeniedTokens(): void {
    for (const { jti, expiresAt } of this.store.sessions.deniedAccessTokens()) this.tokens.deny(jti, expiresAt)
    for (const { familyId, expiresAt } of this.store.sessions.deniedLogins()) this.tokens.denyLogin(familyId, expiresAt)
  }

  private prune(): void {
    try {
      this.store.sessions.prune()
      this.tokens.pruneDenied()
    } catch (error) {
      this.logger.warn('could not prune expired sessions', { err: error })
    }
  }

  /** `credential` as presentedCredential() returned it. */
  authenticate(credential: string | undefined): Principal | GatewayError {
    if (credential === undefined) {
      return authFailure('invalid_api_key', 'unsupported Authorization scheme: use Authorization: Bearer <key>')
    }
    if (credential === '') return authFailure('missing_credential')
    if (looksLikeKey(credential)) return this.keys.verify(credential)
    if (looksLikeJwt(credential)) return this.fromAccessToken(credential)
    return authFailure('invalid_api_key')
  }

  /** Per request: the JWT check (cached by fast-jwt), two denylist lookups and this user map; no query unless a miss. */
  private fromAccessToken(token: string): Principal | GatewayError {
    const claims = this.tokens.verify(token)
    if (claims instanceof GatewayError) return claims
    let user = this.users.get(claims.userId)
    if (!user) {
      const row = this.store.users.byId(claims.userId)
      user = row
        ? {
            username: row.username,
            role: row.role,
            active: row.active,
            tokenEpoch: row.tokenEpoch,
            weight: row.weight,
            allowsAddress: addressPolicy(null, row.allowIp),
          }
        : noSuchUser
      this.users.set(claims.userId, user)
    }
    if (user === noSuchUser) return authFailure('invalid_token', 'the account of this access token no longer exists')
    if (!user.active) return authFailure('user_disabled')
    // A new password, or a disable, drew a new epoch: every token issued before is over.
    if (user.tokenEpoch !== claims.epoch) return authFailure('token_revoked')
    return {
      userId: claims.userId,
      username: user.username,
      role: user.role,
      weight: user.weight,
      permissions: rolePermissions[user.role],
      keyId: null,
      allowsModel: everyModel,
      expiresAt: claims.expiresAt,
      rotatedUntil: Infinity,
      revoked: false,
      userActive: true,
      allowsAddress: user.allowsAddress,
      signingSecret: undefined,
      accessToken: claims,
    }
  }

  /** Reads pending changes now, rather than at the next poll. */
  pollChanges(): void {
    this.watcher.poll(true)
  }

  flushLastUsed(): void {
    try {
      this.store.keys.touchMany(this.keys.takeLastUsed())
    } catch (error) {
      this.logger.warn('could not record key last-use times', { err: error })
    }
  }

  stop(): void {
    this.watcher.stop()
    this.store.feed.onLocalChange = undefined
    for (const timer of this.timers) clearInterval(timer)
    this.flushLastUsed()
  }
}
