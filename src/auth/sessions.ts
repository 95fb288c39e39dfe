// Login sessions: a password login gives a short-lived access JWT and an opaque refresh token; each refresh retires
// the token it used and issues the next of its family (one family is one login), and a refresh token used twice means
// it was stolen, so the whole login ends: its refresh tokens and every access token issued from it. Logins cost the
// same whether or not the user exists, repeated failures are slowed down, and a hash made with weaker parameters than
// today's is replaced after a successful login.
import { createHash, randomBytes } from 'node:crypto'
import { GatewayError } from '../errors.js'
import type { Emit } from '../events/eventBus.js'
import type { SessionStore } from '../store/sessions.js'
import { usernamePattern, type User, type UserStore } from '../store/users.js'
import type { AccessClaims, AccessTokens } from './accessTokens.js'
import { authFailure } from './authErrors.js'
import type { LoginLimiter } from './loginLimiter.js'
import { argon2Passwords, maxPasswordLength, type PasswordHasher } from './passwords.js'

export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  /** Seconds. */
  expires_in: number
  refresh_token: string
  refresh_expires_in: number
}

export interface SessionOptions {
  accessTtlMs: number
  refreshTtlMs: number
  now?: () => number
  /** Tests that run thousands of logins use a cheap hasher; everything else uses argon2id. */
  passwords?: PasswordHasher
  /** Reports login.failed and login.throttled (the event bus). */
  emit?: Emit
}

const refreshPrefix = 'plr_'
const refreshShape = /^plr_[A-Za-z0-9_-]{16}_[A-Za-z0-9_-]{43}$/

export class Sessions {
  private readonly now: () => number
  private readonly passwords: PasswordHasher

  constructor(
    private readonly users: UserStore,
    private readonly store: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly limiter: LoginLimiter,
    private readonly options: SessionOptions,
  ) {
    this.now = options.now ?? Date.now
    this.passwords = options.passwords ?? argon2Passwords
  }

  async login(username: string, password: string, address: string): Promise<TokenPair | GatewayError> {
    // No such user can exist: refused before the limiter, whose memory holds only names of a bounded shape.
    if (!usernamePattern.test(username)) {
      return new GatewayError(
        'invalid_request',
        '"username" must be 1 to 64 letters, digits, dots, dashes or underscores',
      )
    }
    if (password.length > maxPasswordLength) {
      return new GatewayError('invalid_request', `"password" is longer than ${maxPasswordLength} characters`)
    }
    const wait = this.limiter.waitMs(username, address)
    if (wait > 0) {
      const error = throttled(wait)
      this.options.emit?.('login.throttled', {
        username,
        client_ip: address,
        retry_after_s: Math.max(1, Math.ceil(wait / 1000)),
      })
      return error
    }
    const user = this.users.find(username)
    const stored = user?.passwordHash ?? (await this.passwords.decoy())
    const matches = await this.passwords.verify(stored, password)
    if (!user || !user.passwordHash || !matches) {
      this.limiter.failed(username, address)
      this.options.emit?.('login.failed', { username, client_ip: address, reason: 'invalid_credentials' })
      return authFailure('invalid_credentials')
    }
    if (!user.active) {
      this.options.emit?.('login.failed', { username, client_ip: address, reason: 'user_disabled' })
      return authFailure('user_disabled')
    }
    this.limiter.succeeded(username, address)
    this.users.touchLogin(user.id)
    if (this.passwords.needsRehash(user.passwordHash)) {
      this.users.upgradePasswordHash(user.id, user.passwordHash, await this.passwords.hash(password))
    }
    // Issued under the epoch the password was checked against, and only if it is still the user's: a password set or
    // a disable (also by the CLI) while the hash was checked drew a new epoch, and the old password gets nothing.
    const pair = this.issue(user, randomBytes(12).toString('base64url'))
    return pair ?? authFailure('invalid_credentials')
  }

  /**
   * A new login for a user who proved who they are elsewhere (single sign-on): the same pair a password login gives,
   * and the login's id (to end it, and remember what the provider needs at logout). Refused if the user is disabled.
   */
  startLogin(user: User): { pair: TokenPair; loginId: string } | GatewayError {
    if (!user.active) return authFailure('user_disabled')
    this.users.touchLogin(user.id)
    const loginId = randomBytes(12).toString('base64url')
    const pair = this.issue(user, loginId)
    // The user's epoch changed since it was read (disabled, new password): as refused as a disabled user.
    return pair ? { pair, loginId } : authFailure('token_revoked')
  }

  /** The login a refresh token belongs to (used or not), or undefined. */
  loginOf(refreshToken: string): string | undefined {
    return refreshShape.test(refreshToken) ? this.store.findByHash(hashToken(refreshToken))?.familyId : undefined
  }

  refresh(refreshToken: string): TokenPair | GatewayError {
    if (!refreshShape.test(refreshToken)) return authFailure('invalid_token', 'invalid refresh token')
    const found = this.store.findByHash(hashToken(refreshToken))
    if (!found) return authFailure('invalid_token', 'invalid refresh token')
    if (found.revokedAt !== null) return authFailure('token_revoked')
    if (found.usedAt !== null) {
      this.endLogin(found.familyId, found.userId)
      return authFailure('refresh_token_reused')
    }
    if (found.expiresAt <= this.now())
      return authFailure('token_expired', 'this refresh token has expired; log in again')
    const user = this.users.byId(found.userId)
    if (!user || !user.active) return authFailure('user_disabled')
    const next = this.newRefreshToken(user, found.familyId)
    if (!this.store.exchange(found, next.row, user.tokenEpoch)) {
      // Changed between our read and our write (also by another process): used by a concurrent refresh is the same
      // reuse; revoked, or the user given a new epoch (password, disable), ends this login like the change did.
      const current = this.store.findByHash(hashToken(refreshToken))
      this.endLogin(found.familyId, found.userId)
      if (current && current.usedAt !== null && current.revokedAt === null) return authFailure('refresh_token_reused')
      return authFailure('token_revoked')
    }
    return this.pair(user, next.token, found.familyId)
  }

  /** Ends the login a refresh token belongs to, and/or denylists an access token until it expires. */
  logout(refreshToken: string | undefined, access: AccessClaims | undefined): GatewayError | undefined {
    if (refreshToken !== undefined) {
      const found = refreshShape.test(refreshToken) ? this.store.findByHash(hashToken(refreshToken)) : undefined
      if (!found) return authFailure('invalid_token', 'invalid refresh token')
      this.endLogin(found.familyId, found.userId)
    }
    if (access) {
      this.store.denyAccessToken(access.jti, access.expiresAt, access.userId)
      this.tokens.deny(access.jti, access.expiresAt)
    }
    return undefined
  }

  /** Every refresh token of the login, and every access token it issued (in this process now, elsewhere by the feed). */
  private endLogin(familyId: string, userId: number): void {
    const until = this.now() + this.options.accessTtlMs
    this.store.revokeFamily(familyId, userId, until)
    this.tokens.denyLogin(familyId, until)
  }

  /** A new login's pair, under the epoch `user` was read with; undefined if that epoch is no longer the user's. */
  private issue(user: User, familyId: string): TokenPair | undefined {
    const next = this.newRefreshToken(user, familyId)
    if (!this.store.add(next.row, user.tokenEpoch)) return undefined
    return this.pair(user, next.token, familyId)
  }

  private newRefreshToken(user: User, familyId: string) {
    const token = `${refreshPrefix}${randomBytes(12).toString('base64url')}_${randomBytes(32).toString('base64url')}`
    const row = {
      id: token.slice(refreshPrefix.length, refreshPrefix.length + 16),
      familyId,
      userId: user.id,
      hash: hashToken(token),
      expiresAt: this.now() + this.options.refreshTtlMs,
    }
    return { token, row }
  }

  private pair(user: User, refreshToken: string, familyId: string): TokenPair {
    const { token } = this.tokens.issue(user, familyId, this.now())
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: Math.floor(this.options.accessTtlMs / 1000),
      refresh_token: refreshToken,
      refresh_expires_in: Math.floor(this.options.refreshTtlMs / 1000),
    }
  }
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

function throttled(waitMs: number): GatewayError {
  const seconds = Math.ceil(waitMs / 1000)
  return new GatewayError('login_throttled', `too many failed logins; try again in ${seconds} s`, {
    'retry-after': String(seconds),
  })
}
