// Login sessions: a password login gives a short-lived access JWT and an opaque refresh token; each refresh retires
// the token it used and issues the next of its family, and a refresh token used twice means it was stolen, so the
// whole family ends. Logins cost the same whether or not the user exists, and repeated failures are slowed down.
import { hash, verify } from '@node-rs/argon2'
import { createHash, randomBytes } from 'node:crypto'
import { GatewayError } from '../errors.js'
import type { SessionStore } from '../store/sessions.js'
import type { User, UserStore } from '../store/users.js'
import type { AccessClaims, AccessTokens } from './accessTokens.js'
import { authFailure } from './authErrors.js'
import type { LoginLimiter } from './loginLimiter.js'

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
}

const refreshPrefix = 'plr_'
const refreshShape = /^plr_[A-Za-z0-9_-]{16}_[A-Za-z0-9_-]{43}$/

/** Verified against when the user does not exist or has no password, so that the answer takes as long. */
const decoyHash = hash(randomBytes(16).toString('hex'))

export class Sessions {
  private readonly now: () => number

  constructor(
    private readonly users: UserStore,
    private readonly store: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly limiter: LoginLimiter,
    private readonly options: SessionOptions,
  ) {
    this.now = options.now ?? Date.now
  }

  async login(username: string, password: string, address: string): Promise<TokenPair | GatewayError> {
    const wait = this.limiter.waitMs(username, address)
    if (wait > 0) return throttled(wait)
    const user = this.users.find(username)
    const stored = user?.passwordHash ?? (await decoyHash)
    const matches = await verify(stored, password).catch(() => false)
    if (!user || !user.passwordHash || !matches) {
      this.limiter.failed(username, address)
      return authFailure('invalid_credentials')
    }
    if (!user.active) return authFailure('user_disabled')
    this.limiter.succeeded(username)
    this.users.touchLogin(user.id)
    return this.issue(user, randomBytes(12).toString('base64url'))
  }

  refresh(refreshToken: string): TokenPair | GatewayError {
    if (!refreshShape.test(refreshToken)) return authFailure('invalid_token', 'invalid refresh token')
    const found = this.store.findByHash(hashToken(refreshToken))
    if (!found) return authFailure('invalid_token', 'invalid refresh token')
    if (found.revokedAt !== null) return authFailure('token_revoked')
    if (found.usedAt !== null) {
      this.store.revokeFamily(found.familyId, found.userId)
      return authFailure('refresh_token_reused')
    }
    if (found.expiresAt <= this.now())
      return authFailure('token_expired', 'this refresh token has expired; log in again')
    const user = this.users.byId(found.userId)
    if (!user || !user.active) return authFailure('user_disabled')
    const next = this.newRefreshToken(user, found.familyId)
    if (!this.store.exchange(found, next.row)) {
      // Used by a concurrent refresh between our read and our write: the same reuse.
      this.store.revokeFamily(found.familyId, found.userId)
      return authFailure('refresh_token_reused')
    }
    return this.pair(user, next.token)
  }

  /** Ends the login a refresh token belongs to, and/or denylists an access token until it expires. */
  logout(refreshToken: string | undefined, access: AccessClaims | undefined): GatewayError | undefined {
    if (refreshToken !== undefined) {
      const found = refreshShape.test(refreshToken) ? this.store.findByHash(hashToken(refreshToken)) : undefined
      if (!found) return authFailure('invalid_token', 'invalid refresh token')
      this.store.revokeFamily(found.familyId, found.userId)
    }
    if (access) {
      this.store.denyAccessToken(access.jti, access.expiresAt, access.userId)
      this.tokens.deny(access.jti, access.expiresAt)
    }
    return undefined
  }

  private issue(user: User, familyId: string): TokenPair {
    const next = this.newRefreshToken(user, familyId)
    this.store.add(next.row)
    return this.pair(user, next.token)
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

  private pair(user: User, refreshToken: string): TokenPair {
    const { token } = this.tokens.issue(user, this.now())
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
