// Failed logins, throttled per (address, username) pair, per username and per address, each a leaky counter: every
// failure adds one, and failures leak away at `maxFailures` per `maxBackoffMs` (scaled by the subject's allowance),
// so a throttle decays once the failures stop. Past its allowance a subject must wait before the next attempt, the
// wait doubling with each further failure up to `maxBackoffMs`. A success clears its own pair only: users behind one
// proxy address have their own pairs, a username shared by many addresses (a guess spread over a botnet) is slowed
// after 4× the allowance, an address trying many usernames after 10×. Bounded (oldest entries go first), clock injected.
import { LRUCache } from 'lru-cache'

interface Failures {
  /** Failures not yet leaked away, as of `at`. */
  level: number
  at: number
  /** No attempt before this (ms since epoch). */
  blockedUntil: number
}

export interface LoginLimiterOptions {
  maxFailures: number
  maxBackoffMs: number
  now?: () => number
  /** Subjects remembered (the oldest go first); 100,000 by default. */
  maxEntries?: number
}

/** How many times `maxFailures` each kind of subject is allowed (and how much faster its failures leak away). */
export const subjectScale = { pair: 1, user: 4, address: 10 } as const
type SubjectKind = keyof typeof subjectScale

export class LoginLimiter {
  private readonly failures: LRUCache<string, Failures>
  private readonly now: () => number
  /** ms for one failure to leak away from a pair. */
  private readonly leakMs: number

  constructor(private readonly options: LoginLimiterOptions) {
    this.now = options.now ?? Date.now
    this.failures = new LRUCache({ max: options.maxEntries ?? 100_000 })
    this.leakMs = options.maxBackoffMs / options.maxFailures
  }

  /** Milliseconds to wait before this username may try again from this address (0: go ahead). */
  waitMs(username: string, address: string): number {
    const now = this.now()
    let wait = 0
    for (const [, subject] of subjects(username, address)) {
      const entry = this.failures.get(subject)
      if (entry) wait = Math.max(wait, entry.blockedUntil - now)
    }
    return wait
  }

  failed(username: string, address: string): void {
    const now = this.now()
    for (const [kind, subject] of subjects(username, address)) {
      const scale = subjectScale[kind]
      const entry = this.failures.get(subject) ?? { level: 0, at: now, blockedUntil: 0 }
      entry.level = leaked(entry, now, this.leakMs / scale) + 1
      entry.at = now
      const over = Math.ceil(entry.level) - this.options.maxFailures * scale
      if (over >= 0) entry.blockedUntil = now + Math.min(this.options.maxBackoffMs, 1000 * 2 ** Math.min(over, 30))
      this.failures.set(subject, entry)
    }
  }

  /** A correct password from this address: its pair starts afresh (the username's and address's counts leak away). */
  succeeded(username: string, address: string): void {
    this.failures.delete(pairSubject(username, address))
  }

  /** Failures still counted against a subject now (for tests and diagnostics). */
  level(kind: SubjectKind, username: string, address: string): number {
    const subject = subjects(username, address).find(([each]) => each === kind)![1]
    const entry = this.failures.get(subject)
    return entry ? leaked(entry, this.now(), this.leakMs / subjectScale[kind]) : 0
  }
}

function leaked(entry: Failures, now: number, leakMs: number): number {
  return Math.max(0, entry.level - Math.max(0, now - entry.at) / leakMs)
}

function pairSubject(username: string, address: string): string {
  return `pair:${address}\u0000${username.toLowerCase()}`
}

function subjects(username: string, address: string): [SubjectKind, string][] {
  return [
    ['pair', pairSubject(username, address)],
    ['user', `user:${username.toLowerCase()}`],
    ['address', `address:${address}`],
  ]
}
