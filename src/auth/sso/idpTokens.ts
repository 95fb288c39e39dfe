// The identity provider's JWT access tokens as API credentials. Checked synchronously (the authenticate stage does
// not wait) against the provider's signing keys, which are read from its JWKS (discovery's jwks_uri) ahead of need:
// at start, every jwks_refresh, and again when a token names a key id we do not have (at most every
// jwks_min_refetch, so a flood of made-up key ids costs one read). A token signed with a key the provider published
// after our last read is refused once while the keys are read again; the retry passes. Only asymmetric algorithms the
// key itself is for are accepted (never `none`, never HS* with a public key); iss, aud, exp and nbf (with a small
// skew) are checked; an ID token (it carries a nonce) is not an API credential.
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import { GatewayError } from '../../errors.js'
import type { Logger } from '../../logger.js'
import { verifiedPayload } from '../accessTokens.js'
import { authFailure } from '../authErrors.js'

export interface IdpTokenOptions {
  issuer: string
  audience: string
  clockSkewMs: number
  refreshMs: number
  minRefetchMs: number
  /** Reads the provider's JWKS document (the JSON at jwks_uri). */
  fetchJwks: () => Promise<unknown>
  now?: () => number
}

export interface IdpIdentity {
  issuer: string
  subject: string
  /** ms since epoch. */
  expiresAt: number
}

type Verify = (token: string) => Record<string, unknown>

/** What each key type may sign with; symmetric keys (kty oct) are never taken from a JWKS. */
const algorithmsByKey: Record<string, readonly string[]> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'EC:P-256': ['ES256'],
  'EC:P-384': ['ES384'],
  'EC:P-521': ['ES512'],
  'OKP:Ed25519': ['EdDSA'],
}

export class IdpTokens {
  /** Key id ('' for a key without one) -> its verifier. Replaced whole on each read, so a removed key stops at once. */
  private verifiers = new Map<string, Verify>()
  private lastRead = -Infinity
  private reading: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly now: () => number

  constructor(
    private readonly options: IdpTokenOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.readKeys(), this.options.refreshMs)
    this.timer.unref()
    return this.readKeys()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Whether a JWT claims to come from the provider (its iss): only those are checked here. */
  claimsIssuer(token: string): boolean {
    const payload = decodePart(token, 1)
    return payload !== undefined && payload.iss === this.options.issuer
  }

  verify(token: string): IdpIdentity | GatewayError {
    const header = decodePart(token, 0)
    if (!header) return authFailure('invalid_token', 'invalid access token (malformed)')
    const kid = typeof header.kid === 'string' ? header.kid : ''
    const verify = this.verifiers.get(kid)
    if (!verify) {
      this.refetchSoon()
      return authFailure(
        'invalid_token',
        "invalid access token (signed with a key the gateway does not know yet: it is reading the identity provider's keys again; retry)",
      )
    }
    const payload = verifiedPayload<Record<string, unknown>>(verify, token)
    if (payload instanceof GatewayError) return payload
    if (payload.nonce !== undefined) {
      return authFailure('invalid_token', 'an ID token is not an API credential: send the access token')
    }
    const subject = payload.sub
    if (typeof subject !== 'string' || subject === '')
      return authFailure('invalid_token', 'invalid access token (no sub)')
    return { issuer: this.options.issuer, subject, expiresAt: Number(payload.exp) * 1000 }
  }

  /** Reads the keys now (once at a time); the old keys stay if the read fails. */
  readKeys(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined))
    return this.reading
  }

  /** The read in progress (tests wait for the one an unknown key id started), or a settled promise. */
  get settled(): Promise<void> {
    return this.reading ?? Promise.resolve()
  }

  private refetchSoon(): void {
    if (this.reading || this.now() - this.lastRead < this.options.minRefetchMs) return
    void this.readKeys()
  }

  private async read(): Promise<void> {
    this.lastRead = this.now()
    try {
      this.verifiers = this.verifiersOf(await this.options.fetchJwks())
    } catch (error) {
      this.logger.warn("could not read the identity provider's signing keys", { err: error })
    }
  }

  private verifiersOf(document: unknown): Map<string, Verify> {
    const keys = (document as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys)) throw new Error('the JWKS document has no "keys" list')
    const verifiers = new Map<string, Verify>()
    for (const jwk of keys as (JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown })[]) {
      if (jwk.use !== undefined && jwk.use !== 'sig') continue
      const fits = algorithmsByKey[jwk.kty === 'RSA' ? 'RSA' : `${jwk.kty}:${jwk.crv}`]
      if (!fits) continue
      const algorithms = typeof jwk.alg === 'string' ? fits.filter((alg) => alg === jwk.alg) : [...fits]
      if (algorithms.length === 0) continue
      let pem: string
      try {
        pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
      } catch {
        continue
      }
      verifiers.set(
        typeof jwk.kid === 'string' ? jwk.kid : '',
        createVerifier({
          key: pem,
          algorithms: algorithms as never,
          allowedIss: this.options.issuer,
          allowedAud: this.options.audience,
          clockTolerance: this.options.clockSkewMs,
          requiredClaims: ['exp', 'sub', 'iss', 'aud'],
          cache: 10_000,
        }) as Verify,
      )
    }
    return verifiers
  }
}

/** A JWT's header (0) or payload (1) as an object, or undefined when it is not one. */
function decodePart(token: string, index: 0 | 1): Record<string, unknown> | undefined {
  const part = token.split('.', 2)[index]
  if (!part) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
