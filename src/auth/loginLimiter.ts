// Failed logins per username and per client address: after `maxFailures` in a row, each further attempt must wait,
// the wait doubling up to `maxBackoffMs`. Bounded (oldest entries go first) and with an injected clock for tests.
import { LRUCache } from 'lru-cache'

interface Failures {
  count: number
  /** No attempt before this (ms since epoch). */
  blockedUntil: number
}

export interface LoginLimiterOptions {
  maxFailures: number
  maxBackoffMs: number
  now?: () => number
}

export class LoginLimiter {
  private readonly failures = new LRUCache<string, Failures>({ max: 100_000 })
  private readonly now: () => number

  constructor(private readonly options: LoginLimiterOptions) {
    this.now = options.now ?? Date.now
  }

  /** Milliseconds to wait before this username/address may try again (0: go ahead). */
  waitMs(username: string, address: string): number {
    const now = this.now()
    let wait = 0
    for (const subject of subjects(username, address)) {
      const entry = this.failures.get(subject)
      if (entry) wait = Math.max(wait, entry.blockedUntil - now)
    }
    return wait
  }

  failed(username: string, address: string): void {
    const now = this.now()
    for (const subject of subjects(username, address)) {
      const entry = this.failures.get(subject) ?? { count: 0, blockedUntil: 0 }
      entry.count++
      const over = entry.count - this.options.maxFailures
      if (over >= 0) entry.blockedUntil = now + Math.min(this.options.maxBackoffMs, 1000 * 2 ** over)
      this.failures.set(subject, entry)
    }
  }

  succeeded(username: string): void {
    this.failures.delete(`user:${username.toLowerCase()}`)
  }
}

function subjects(username: string, address: string): string[] {
  return [`user:${username.toLowerCase()}`, `ip:${address}`]
}
