// Login access tokens: short-lived JWTs signed with HS256 only (the algorithm is pinned; `none` and every other
// algorithm are refused), issuer and audience checked, `kid` naming the secret so secrets can rotate, and a denylist
// of `jti`s revoked before they expire. A token names its user by id (never reused) and by the user's token epoch
// (`gen`, checked against the user on every request), and its login (`sid`, the refresh-token family), so that ending
// a login ends the access tokens it issued. Verified tokens are cached by fast-jwt until they expire.
import { randomUUID } from 'node:crypto'
import { createSigner, createVerifier, TokenError } from 'fast-jwt'
import { GatewayError } from '../errors.js'
import { authFailure } from './authErrors.js'
import type { JwtSecret } from './jwtSecrets.js'

export interface AccessTokenOptions {
  ttlMs: number
  issuer: string
  audience: string
}

export interface AccessClaims {
  userId: number
  /** The user's token epoch when the token was issued. */
  epoch: number
  /** The login (refresh-token family) the token was issued from. */
  loginId: string
  jti: string
  /** ms since epoch. */
  expiresAt: number
}

/** A JWT none of our secrets signed: the one failure after which the identity provider's tokens are tried. */
export const unknownSigningKey = authFailure('invalid_token', 'invalid access token (unknown signing key)')

type Verify = (token: string) => { sub: string; gen: unknown; sid: unknown; jti: string; exp: number }

export class AccessTokens {
  private readonly sign: (payload: Record<string, unknown>) => string
  private readonly verifiers = new Map<string, Verify>()
  /** jti -> when the token expires anyway (then it can be forgotten). */
  private readonly denied = new Map<string, number>()
  /** Ended login -> when its last access token expires anyway. */
  private readonly deniedLogins = new Map<string, number>()

  constructor(
    secrets: JwtSecret[],
    private readonly options: AccessTokenOptions,
  ) {
    const current = secrets[0]!
    this.sign = createSigner({
      key: current.key,
      algorithm: 'HS256',
      kid: current.kid,
      iss: options.issuer,
      aud: options.audience,
      expiresIn: options.ttlMs,
    })
    for (const secret of secrets) {
      this.verifiers.set(
        secret.kid,
        createVerifier({
          key: secret.key,
          algorithms: ['HS256'],
          allowedIss: options.issuer,
          allowedAud: options.audience,
          requiredClaims: ['exp', 'jti', 'sub', 'gen', 'sid'],
          cache: 10_000,
        }) as Verify,
      )
    }
  }

  issue(
    user: { id: number; username: string; role: string; tokenEpoch: number },
    loginId: string,
    now = Date.now(),
  ): { token: string; claims: AccessClaims } {
    const jti = randomUUID()
    const token = this.sign({
      sub: String(user.id),
      gen: user.tokenEpoch,
      sid: loginId,
      name: user.username,
      role: user.role,
      jti,
    })
    const claims = { userId: user.id, epoch: user.tokenEpoch, loginId, jti, expiresAt: now + this.options.ttlMs }
    return { token, claims }
  }

  /** The longest an access token issued now lives. */
  get ttlMs(): number {
    return this.options.ttlMs
  }

  verify(token: string): AccessClaims | GatewayError {
    const verify = this.verifiers.get(kidOf(token))
    if (!verify) return unknownSigningKey
    const payload = verifiedPayload(verify, token)
    if (payload instanceof GatewayError) return payload
    const userId = Number(payload.sub)
    const { gen, sid } = payload
    if (!Number.isSafeInteger(userId) || typeof gen !== 'number' || typeof sid !== 'string') {
      return authFailure('invalid_token')
    }
    if (this.denied.has(payload.jti) || this.deniedLogins.has(sid)) return authFailure('token_revoked')
    return { userId, epoch: gen, loginId: sid, jti: payload.jti, expiresAt: payload.exp * 1000 }
  }

  deny(jti: string, expiresAt: number): void {
    this.denied.set(jti, expiresAt)
  }

  /** Refuses every access token of a login, until `expiresAt` (when the last of them expires anyway). */
  denyLogin(loginId: string, expiresAt: number): void {
    this.deniedLogins.set(loginId, Math.max(expiresAt, this.deniedLogins.get(loginId) ?? 0))
  }

  /** Forgets denied tokens that have expired by now (they fail verification anyway). */
  pruneDenied(now = Date.now()): void {
    for (const [jti, expiresAt] of this.denied) if (expiresAt <= now) this.denied.delete(jti)
    for (const [loginId, expiresAt] of this.deniedLogins) if (expiresAt <= now) this.deniedLogins.delete(loginId)
  }
}

function kidOf(token: string): string {
  const dot = token.indexOf('.')
  if (dot <= 0) return ''
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as { kid?: unknown }
    return typeof header.kid === 'string' ? header.kid : ''
  } catch {
    return ''
  }
}

/** A JWT's payload from a fast-jwt verifier (ours or the IdP's), or the 401 that says why it is refused. */
export function verifiedPayload<T>(verify: (token: string) => T, token: string): T | GatewayError {
  try {
    return verify(token)
  } catch (error) {
    const code = error instanceof TokenError ? error.code : ''
    if (code === TokenError.codes.expired) return authFailure('token_expired')
    return authFailure('invalid_token', `invalid access token (${describe(code)})`)
  }
}

function describe(code: string): string {
  if (code === TokenError.codes.invalidAlgorithm) return 'algorithm not allowed'
  if (code === TokenError.codes.invalidSignature) return 'bad signature'
  if (code === TokenError.codes.invalidClaimValue) return 'wrong issuer or audience'
  if (code === TokenError.codes.missingRequiredClaim) return 'missing claim'
  if (code === TokenError.codes.inactive) return 'not valid yet'
  return 'malformed'
}

export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && credential.split('.').length === 3
}
