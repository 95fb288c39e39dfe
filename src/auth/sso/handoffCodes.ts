// The one-time codes that hand a finished SSO sign-in to the client that started it, so that no token ever travels in
// a URL: the dashboard gets the code in the fragment of its address (never sent to a server, removed from history at
// once), the CLI on its loopback listener; either exchanges it with a POST for the session pair. A code works once,
// for a minute; a CLI's code also needs the verifier whose S256 challenge the CLI sent when it started (RFC 7636), so
// a code read by anyone else is useless.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { SsoClient } from './pendingLogins.js'

export interface Handoff<T> {
  value: T
  client: SsoClient
  expiresAt: number
}

const maxCodes = 10_000

export class HandoffCodes<T> {
  private readonly codes = new Map<string, Handoff<T>>()

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(value: T, client: SsoClient): string {
    const now = this.now()
    for (const [key, handoff] of this.codes) if (handoff.expiresAt <= now) this.codes.delete(key)
    while (this.codes.size >= maxCodes) this.codes.delete(this.codes.keys().next().value!)
    const code = randomBytes(32).toString('base64url')
    this.codes.set(digest(code), { value, client, expiresAt: now + this.ttlMs })
    return code
  }

  /** The value handed off with `code`, taken (once), if unexpired and, for a CLI, `verifier` matches its challenge. */
  redeem(code: string, verifier: string | undefined): T | undefined {
    const key = digest(code)
    const found = this.codes.get(key)
    if (!found) return undefined
    this.codes.delete(key)
    if (found.expiresAt <= this.now()) return undefined
    if (found.client.kind === 'cli' && !challengeMatches(found.client.challenge, verifier)) return undefined
    return found.value
  }
}

/** RFC 7636 S256: base64url(SHA-256(verifier)) equals the challenge. */
export function challengeMatches(challenge: string, verifier: string | undefined): boolean {
  if (verifier === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false
  const expected = Buffer.from(createHash('sha256').update(verifier).digest('base64url'))
  const given = Buffer.from(challenge)
  return expected.length === given.length && timingSafeEqual(expected, given)
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('base64url')
}
