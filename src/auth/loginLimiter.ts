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
    this.failures.delete(pairSubject(username, addressGroup(address)))
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
  const group = addressGroup(address)
  return [
    ['pair', pairSubject(username, group)],
    ['user', `user:${username.toLowerCase()}`],
    ['address', `address:${group}`],
  ]
}

/**
 * The unit an address is throttled by: an IPv4 address itself (also written IPv4-mapped, `::ffff:192.0.2.1`), and an
 * IPv6 address's /64 — one host is handed a whole /64, so counting each of its 2^64 addresses apart would throttle
 * nothing. Any spelling of an IPv6 address (compressed or not, any case, a zone) gives the same group.
 */
export function addressGroup(address: string): string {
  if (!address.includes(':')) return address
  let text = address.toLowerCase()
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  const mapped = /^(?:0{1,4}:){0,5}:?(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)
  if (mapped) return mapped[1]!
  const halves = text.split('::')
  if (halves.length > 2) return text
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  // An embedded IPv4 address at the end stands for two groups.
  const width = (groups: string[]) => groups.length + (groups.at(-1)?.includes('.') ? 1 : 0)
  const zeros = halves.length === 2 ? Math.max(0, 8 - width(head) - width(tail)) : 0
  const groups = [...head, ...Array<string>(zeros).fill('0'), ...tail]
  const prefix = groups.slice(0, 4).map((group) => {
    const value = Number.parseInt(group, 16)
    return /^[0-9a-f]{1,4}$/.test(group) ? value.toString(16) : group
  })
  return `${prefix.join(':')}::/64`
}
