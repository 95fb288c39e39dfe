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
import { looksLikeJwt, unknownSigningKey, type AccessTokens } from './accessTokens.js'
import { KeyVerifier, type KeyVerifierOptions } from './keyVerifier.js'
import { rolePermissions, type Role } from './permissions.js'
import type { Principal } from './principal.js'
import type { IdpTokens } from './sso/idpTokens.js'

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
  /** The identity provider's access tokens, when SSO accepts them; and which user each identity is linked to. */
  private idp: { tokens: IdpTokens; links: LRUCache<string, number> } | undefined
  /** The identity provider's token checker (tests wait for its key reads). */
  idpTokens: IdpTokens | undefined

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
    // The provider's keys are read ahead of the first token; a failed read is logged and tried again later.
    void this.idp?.tokens.start()
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

  /**
   * The caller behind work done later on their behalf (a batch's lines): the key that asked for it as it is now, or
   * for a login session (no key) the user as they are now; the refusal when the key or the user no longer works.
   */
  principalOf(userId: number, keyId: string | null): Principal | GatewayError {
    if (keyId !== null) return this.keys.byId(keyId)
    const user = this.userState(userId)
    if (user === noSuchUser) return authFailure('user_disabled', 'the account that made this work no longer exists')
    if (!user.active) return authFailure('user_disabled')
    return tokenPrincipal(userId, user, Infinity)
  }

  /** Accepts the identity provider's JWT access tokens too (auth.oidc.accept_access_tokens). */
  acceptIdpTokens(tokens: IdpTokens): void {
    this.idpTokens = tokens
    this.idp = { tokens, links: new LRUCache({ max: 100_000, ttl: this.options.cacheTtlMs }) }
  }

  /** Per request: the JWT check (cached by fast-jwt), two denylist lookups and this user map; no query unless a miss. */
  private fromAccessToken(token: string): Principal | GatewayError {
    const claims = this.tokens.verify(token)
    // Not signed by us: the identity provider's, if SSO accepts its tokens and the token names it as issuer.
    if (claims === unknownSigningKey && this.idp?.tokens.claimsIssuer(token)) return this.fromIdpToken(token)
    if (claims instanceof GatewayError) return claims
    const user = this.userState(claims.userId)
    if (user === noSuchUser) return authFailure('invalid_token', 'the account of this access token no longer exists')
    if (!user.active) return authFailure('user_disabled')
    // A new password, or a disable, drew a new epoch: every token issued before is over.
    if (user.tokenEpoch !== claims.epoch) return authFailure('token_revoked')
    return { ...tokenPrincipal(claims.userId, user, claims.expiresAt), accessToken: claims }
  }

  /** An IdP access token: the user linked to its issuer and subject (at first sign-in), with that user's role. */
  private fromIdpToken(token: string): Principal | GatewayError {
    const { tokens, links } = this.idp!
    const identity = tokens.verify(token)
    if (identity instanceof GatewayError) return identity
    let userId = links.get(identity.subject)
    if (userId === undefined) {
      userId = this.store.users.findBySso(identity)?.id
      if (userId === undefined) {
        return authFailure('invalid_token', 'no user is linked to this identity yet: sign in once with SSO')
      }
      links.set(identity.subject, userId)
    }
    const user = this.userState(userId)
    if (user === noSuchUser) {
      links.delete(identity.subject)
      return authFailure('invalid_token', 'the account of this access token no longer exists')
    }
    if (!user.active) return authFailure('user_disabled')
    return tokenPrincipal(userId, user, identity.expiresAt)
  }

  /** The user's role and state, from the cache the change feed keeps current, or read once. */
  private userState(userId: number): UserState {
    let user = this.users.get(userId)
    if (!user) {
      const row = this.store.users.byId(userId)
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
      this.users.set(userId, user)
    }
    return user
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
    this.idp?.tokens.stop()
    this.store.feed.onLocalChange = undefined
    for (const timer of this.timers) clearInterval(timer)
    this.flushLastUsed()
  }
}

/** The caller behind an access token (ours or the IdP's): the user's role and state now, no key. */
function tokenPrincipal(userId: number, user: UserState, expiresAt: number): Principal {
  return {
    userId,
    username: user.username,
    role: user.role,
    weight: user.weight,
    permissions: rolePermissions[user.role],
    keyId: null,
    allowsModel: everyModel,
    expiresAt,
    rotatedUntil: Infinity,
    revoked: false,
    userActive: true,
    allowsAddress: user.allowsAddress,
    signingSecret: undefined,
  }
}
