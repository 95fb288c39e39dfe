// Signed requests (docs/signing.md): a key that requires them holds a signing secret, and each request carries
// `x-parallama-timestamp` (unix seconds) and `x-parallama-signature`, the lower-case hex HMAC-SHA256, keyed with the
// secret's text, of four lines joined with "\n": the method, the path with its query, the timestamp, and the SHA-256
// (hex) of the body as sent (of nothing for a request without one). The check runs once the body is complete, before
// the limits: a refused request never touches a limit or a backend. Comparison is timing-safe.
import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto'
import { authFailure } from './authErrors.js'
import { GatewayError } from '../errors.js'

/** Signing secrets look like `pls_<43 base64url>` (256 random bits), so secret scanners and people know them. */
export const signingSecretPrefix = 'pls_'

export function generateSigningSecret(random: (size: number) => Buffer = randomBytes): string {
  return signingSecretPrefix + random(32).toString('base64url')
}

/** What is signed, one line each: method, path?query, timestamp, body SHA-256 hex. */
export function signedText(method: string, pathAndQuery: string, timestamp: string, bodySha256Hex: string): string {
  return `${method}\n${pathAndQuery}\n${timestamp}\n${bodySha256Hex}`
}

/** The signature for `text` with `secret` (its bytes): 64 lower-case hex digits. */
export function signText(secret: Buffer, text: string): Buffer {
  return createHmac('sha256', secret).update(text).digest()
}

const hex64 = /^[0-9a-f]{64}$/
const unixSeconds = /^\d{1,12}$/

/** The signature headers of one request and what it signed. */
export interface SignedRequest {
  method: string
  /** The path as received, with `?query` when there is one. */
  pathAndQuery: string
  timestamp: string
  signature: string
  bodySha256Hex: string
}

export interface SignatureCheckOptions {
  /** Allowed clock skew either way (ms): auth.signature_skew. */
  skewMs: number
  /** How long after its timestamp a signature is remembered (ms): at least `skewMs` (the default). */
  rememberMs?: number
  replays: ReplayCache
  now?: () => number
}

/** Checks a request against a key's secret: undefined when it may go on, else the 401 (or 503) to answer. */
export function checkSignature(
  secret: Buffer,
  request: SignedRequest,
  options: SignatureCheckOptions,
): GatewayError | undefined {
  if (request.signature === '' || request.timestamp === '') return authFailure('signature_missing')
  if (!unixSeconds.test(request.timestamp)) {
    return authFailure('signature_invalid', 'x-parallama-timestamp must be the time in whole unix seconds')
  }
  if (!hex64.test(request.signature)) {
    return authFailure('signature_invalid', 'x-parallama-signature must be 64 lower-case hex digits (HMAC-SHA256)')
  }
  const now = (options.now ?? Date.now)()
  const signedAt = Number(request.timestamp) * 1000
  if (Math.abs(now - signedAt) > options.skewMs) return authFailure('signature_expired')
  const expected = signText(
    secret,
    signedText(request.method, request.pathAndQuery, request.timestamp, request.bodySha256Hex),
  )
  if (!timingSafeEqual(expected, Buffer.from(request.signature, 'hex'))) return authFailure('signature_invalid')
  // Remembered only once verified: forged signatures cannot fill the cache.
  return options.replays.remember(request.signature, signedAt + Math.max(options.skewMs, options.rememberMs ?? 0), now)
}

/**
 * The signatures seen within the skew window, each kept until its timestamp leaves the window (after that it is
 * refused as expired anyway). Bounded: when full once the expired ones are gone, a new signed request is refused with
 * 503 `signature_cache_full` rather than an old signature forgotten (which would let it be replayed). Insertion order
 * is roughly expiry order, so expired entries are dropped from the front as requests arrive; a full sweep runs only
 * when the cache is full.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>()

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.seen.size
  }

  /** undefined: first sight (now remembered until `keepUntil`); else the refusal. */
  remember(signature: string, keepUntil: number, now: number): GatewayError | undefined {
    const until = this.seen.get(signature)
    if (until !== undefined && until >= now) return authFailure('signature_replayed')
    this.dropExpiredFront(now)
    if (this.seen.size >= this.capacity) {
      this.sweep(now)
      if (this.seen.size >= this.capacity) return cacheFull
    }
    this.seen.set(signature, keepUntil)
    return undefined
  }

  private dropExpiredFront(now: number): void {
    // A few per call: the work per request stays constant.
    for (let i = 0; i < 4; i++) {
      const first = this.seen.entries().next()
      if (first.done || first.value[1] >= now) return
      this.seen.delete(first.value[0])
    }
  }

  private sweep(now: number): void {
    for (const [signature, until] of this.seen) if (until < now) this.seen.delete(signature)
  }
}

const cacheFull = new GatewayError('signature_cache_full', undefined, { 'retry-after': '1' })

/** The SHA-256 (hex) of a body, or of nothing. */
export function bodySha256Hex(body: Buffer | undefined): string {
  return body === undefined || body.length === 0 ? emptySha256Hex : hash('sha256', body, 'hex')
}

const emptySha256Hex = hash('sha256', '', 'hex')

/** A request as the snapshot holds it (src/http/requestSnapshot.ts). */
export interface SignatureHeaders {
  method: string
  path: string
  query: string
  signatureTimestamp: string
  signature: string
}

/**
 * The gateway's one verifier, one replay cache for every key. A reload may narrow the skew, never widen it past the
 * one it started with: a signature is remembered for the starting skew, so a wider window would accept again
 * signatures already forgotten (replays). Widening takes a restart.
 */
export class SignatureVerifier {
  readonly replays: ReplayCache
  private readonly startSkewMs: number

  constructor(
    private readonly skewMs: () => number,
    replayCapacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.replays = new ReplayCache(replayCapacity)
    this.startSkewMs = skewMs()
  }

  /** undefined when the request is signed with `secret` and fresh; else the refusal. */
  check(secret: Buffer, request: SignatureHeaders, bodyHex: string): GatewayError | undefined {
    return checkSignature(
      secret,
      {
        method: request.method,
        pathAndQuery: request.query === '' ? request.path : `${request.path}?${request.query}`,
        timestamp: request.signatureTimestamp,
        signature: request.signature,
        bodySha256Hex: bodyHex,
      },
      {
        skewMs: Math.min(this.skewMs(), this.startSkewMs),
        rememberMs: this.startSkewMs,
        replays: this.replays,
        now: this.now,
      },
    )
  }
}
