// Sign-ins on their way through the identity provider: what the callback needs to finish one (the PKCE verifier, the
// nonce, where to hand the session), keyed by the random `state` sent to the provider. Each is bound to the browser
// that started it by a random value kept in an HttpOnly cookie (stored here only as its hash), used once, and expires
// after a few minutes: a state replayed, guessed, sent from another browser or late finds nothing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Where the session goes once the provider has answered: the dashboard, or a CLI listening on loopback. */
export type SsoClient = { kind: 'dashboard' } | { kind: 'cli'; port: number; challenge: string }

export interface PendingLogin {
  codeVerifier: string
  nonce: string
  client: SsoClient
  expiresAt: number
  /** SHA-256 of the browser binding (the cookie's value). */
  bindingHash: Buffer
}

export interface StartedLogin {
  state: string
  nonce: string
  codeVerifier: string
  /** The value of the cookie that binds the sign-in to this browser. */
  binding: string
}

const maxPending = 10_000

export class PendingLogins {
  private readonly pending = new Map<string, PendingLogin>()

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(client: SsoClient, codeVerifier: string): StartedLogin {
    this.prune()
    const state = random()
    const nonce = random()
    const binding = random()
    this.pending.set(state, {
      codeVerifier,
      nonce,
      client,
      expiresAt: this.now() + this.ttlMs,
      bindingHash: hash(binding),
    })
    return { state, nonce, codeVerifier, binding }
  }

  /**
   * The pending sign-in of `state`, taken (so it works once), if the browser presents its binding and it has not
   * expired. A state presented with the wrong binding is taken too: a second try with it gains nothing.
   */
  take(state: string, binding: string | undefined): PendingLogin | undefined {
    const found = this.pending.get(state)
    if (!found) return undefined
    this.pending.delete(state)
    if (found.expiresAt <= this.now() || binding === undefined) return undefined
    return timingSafeEqual(found.bindingHash, hash(binding)) ? found : undefined
  }

  get size(): number {
    return this.pending.size
  }

  /** Drops expired entries; past the cap the oldest go (a flood of starts cannot grow memory without bound). */
  private prune(): void {
    const now = this.now()
    for (const [state, login] of this.pending) if (login.expiresAt <= now) this.pending.delete(state)
    while (this.pending.size >= maxPending) this.pending.delete(this.pending.keys().next().value!)
  }
}

function random(): string {
  return randomBytes(24).toString('base64url')
}

function hash(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
