// Admission against the limits that apply to a caller: request buckets take one, token buckets reserve an estimate
// (settled to the real count when the response ends), concurrency slots are held until it ends. A request refused by
// any limit takes nothing. Buckets live in memory: they start full after a restart (documented).
import { LRUCache } from 'lru-cache'
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import { headerPlan, planHeaders, type HeaderPlan } from './rateLimitHeaders.js'
import {
  isQuota,
  quotaOf,
  windowMs,
  type AppliedLimit,
  type BucketKind,
  type LimitRule,
  type QuotaKind,
  type RuleSet,
} from './rules.js'
import { TokenBucket } from './tokenBucket.js'
import {
  assertState,
  maxLimiterState,
  tokenCount,
  tokenEstimate as checkedEstimate,
  usedAmount,
} from './limitNumbers.js'

export interface Admission {
  /** Rate-limit headers for the response, flat [name, value, ...]. */
  headers: string[]
  /**
   * Call once when the request ends: settles token reservations to `tokensUsed` (if known), frees the slot. When the
   * count is unknown (a reply cut short), `streamed` is what the backend had already generated (one token per line or
   * event): the reservation stands, or that many when it is more.
   */
  release(tokensUsed: number | undefined, streamed?: number): void
  /**
   * The most tokens the request may use, when a calendar token quota applies: what the tightest one had left before
   * this request. A quota period's debt is forgiven when the period ends, so a reply is held to this (the route caps
   * its generation limit), or one unlimited request per period would take any number of tokens.
   */
  tokensLeft?: number
}

const noHeaders: string[] = []
/** The header plan of each resolved list of limits (null: no bucket among them); goes with the list. */
const headerPlans = new WeakMap<AppliedLimit[], HeaderPlan | null>()
const nothingToRelease: Admission = { headers: noHeaders, release: () => {} }

/** The latest time a Date can hold; a clock beyond it is not believed. */
const maxTime = 8.64e15

const describe: Record<string, string> = {
  rpm: 'requests per minute',
  rph: 'requests per hour',
  rpd: 'requests per day',
  tpm: 'tokens per minute',
  tph: 'tokens per hour',
  tpd: 'tokens per day',
  concurrency: 'requests in flight',
}

/** Tokens or requests a quota's subject used since a time, from the usage rollups (how quotas survive a restart). */
export type UsedSince = (
  limit: AppliedLimit,
  principal: Principal,
  since: number,
  counts: 'tokens' | 'requests',
) => number

interface QuotaState {
  /** The rule it counts for: a rule change keeps the state while that rule still sets the quota. */
  rule: LimitRule
  kind: QuotaKind
  periodStart: number
  used: number
  /** Alert thresholds (percent) already announced for this period. */
  fired: Set<number>
}

/** A quota reaching one of the alert thresholds: announced once per threshold and period. */
export interface QuotaAlert {
  threshold: number
  quota: QuotaKind
  limit: number
  used: number
  periodStart: number
  periodEnd: number
  subject: { type: 'key' | 'user'; id: string; username: string }
  gateway: string
  model: string | null
  /** The limiter's counter: with periodStart and threshold, what makes an alert unique. */
  counter: string
}

export interface QuotaAlerts {
  /** Percentages, ascending (e.g. 80, 100). */
  thresholds: number[]
  /** Thresholds already announced for a counter's period (they survive restarts). */
  sent(counter: string, periodStart: number): number[]
  fire(alert: QuotaAlert): void
}

export class Limiter {
  /**
   * Buckets of keys and users: a plain map (several times cheaper to read than the LRU), as their number is bounded by
   * the database's keys and users times the kinds of limit. A counter names the kind and window; a bucket whose limit
   * changed is rebuilt when next used (bucket()), the others keep their state across rule changes.
   */
  private readonly buckets = new Map<string, TokenBucket>()
  /** Buckets of client addresses, which anyone can multiply: bounded. */
  private readonly addressBuckets = new LRUCache<string, TokenBucket>({ max: 1_000_000 })
  private readonly inFlight = new Map<string, number>()
  /** Quotas of keys and users (address rules have none): bounded like `buckets`, and as cheap to clear. */
  private readonly quotas = new Map<string, QuotaState>()
  /** The latest time the clock gave (see time()). */
  private lastNow = 0

  constructor(
    private rules: RuleSet,
    private readonly usedSince: UsedSince,
    private readonly now: () => number = Date.now,
    private readonly alerts?: QuotaAlerts,
  ) {}

  /**
   * New rules (an admin changed a limit). Only what changed starts over: a bucket whose limit has a new value is
   * rebuilt full when next used, and a quota whose rule no longer sets it is read again from the rollups when next
   * needed; every other bucket and quota keeps its state, so a change to one key's limit neither refills everyone's
   * buckets nor re-runs everyone's quota query. A quota state whose rule is gone is dropped now: while no rule uses
   * it nothing counts into it, so it would be stale if the rule came back.
   */
  replaceRules(rules: RuleSet): void {
    this.rules = rules
    for (const [counter, quota] of this.quotas) {
      const { subjectType, subject, gateway, model } = quota.rule
      if (rules.ruleFor(subjectType, subject, gateway, model)?.values[quota.kind] === undefined) {
        this.quotas.delete(counter)
      }
    }
  }

  /** Forgets every bucket and quota (tests that start each case afresh; a restart does the same). */
  startOver(): void {
    this.buckets.clear()
    // Clearing an LRU costs as much as its capacity: only when it holds something.
    if (this.addressBuckets.size > 0) this.addressBuckets.clear()
    this.quotas.clear()
  }

  /**
   * Admits a request (taking from every applicable limit) or says which limit refused it. `model` is the requested
   * model in Ollama's normal form, when the request names one: its per-model limits apply too. `tokenEstimate` may be
   * any number at all: it is checked here, once (limitNumbers.ts). `quotas: false` leaves the calendar quotas out
   * (the gateway's own routes, which write no usage rows for quotas to rebuild from).
   */
  admit(
    principal: Principal,
    api: string,
    model: string | null,
    tokenEstimate: number | undefined,
    quotas = true,
  ): Admission | GatewayError {
    if (this.rules.size === 0) return nothingToRelease
    const applied = this.rules.resolve(principal, api, model)
    if (applied.length === 0) return nothingToRelease
    const now = this.time()
    const estimate = tokenEstimate === undefined ? undefined : checkedEstimate(tokenEstimate)
    const admission = this.take(applied, estimate, quotas ? principal : undefined, now, true)
    if (!(admission instanceof Refusal)) return admission
    const { limit, waitMs } = admission
    // A refusal carries the same rate-limit headers as an admission, from the state the refusal left.
    const headers = this.rateHeaders(applied, now)
    return isQuota(limit.kind)
      ? quotaRefusal(limit, waitMs, principal, headers)
      : refusal(limit, waitMs, ownerOf(limit, principal), headers)
  }

  /**
   * Admits a request by its client address (address rules guard everything, unauthenticated traffic included):
   * request buckets and concurrency only. undefined when no address rule applies.
   */
  admitAddress(address: string, api: string): Admission | GatewayError | undefined {
    if (!this.rules.hasAddressRules) return undefined
    const applied = this.rules.resolveAddress(address, api)
    if (applied.length === 0) return undefined
    const admission = this.take(applied, undefined, undefined, this.time(), false)
    if (!(admission instanceof Refusal)) return admission
    const scope = admission.limit.rule.gateway === '*' ? '' : ` on the ${admission.limit.rule.gateway} API`
    return refusal(
      admission.limit,
      admission.waitMs,
      `address ${address}, range ${admission.limit.rule.subject}${scope}`,
      [],
    )
  }

  /** The clock, never going back and never anything but a finite time (a clock that does stands still). */
  private time(): number {
    const now = this.now()
    if (now > this.lastNow && now <= maxTime) this.lastNow = now
    return this.lastNow
  }

  /**
   * Takes one request (and the token estimate, when known) from every limit, or nothing when one refuses. Token
   * limits are skipped when the request has no estimate (it generates nothing); quotas need the principal whose
   * usage they count (address rules have none). `estimate` is already a checked count.
   */
  private take(
    applied: AppliedLimit[],
    estimate: number | undefined,
    principal: Principal | undefined,
    now: number,
    withHeaders: boolean,
  ): Admission | Refusal {
    const taken: TokenBucket[] = []
    /** Token buckets and what each reserved (at most its capacity). */
    const reserved: [TokenBucket, number][] = []
    const quotaTaken: [QuotaState, number][] = []
    const quotaReserved: [AppliedLimit, QuotaState, number][] = []
    const slots: string[] = []
    let tokensLeft: number | undefined
    const undo = () => {
      for (const bucket of taken) bucket.giveBack(1, now)
      for (const [bucket, amount] of reserved) bucket.giveBack(amount, now)
      for (const [quota, amount] of quotaTaken) quota.used = assertState(Math.max(0, quota.used - amount))
      for (const slot of slots) this.leave(slot)
    }
    for (const limit of applied) {
      if (limit.kind === 'concurrency') {
        const used = this.inFlight.get(limit.counter) ?? 0
        if (used >= limit.value) {
          undo()
          return new Refusal(limit, 1000)
        }
        this.inFlight.set(limit.counter, used + 1)
        slots.push(limit.counter)
        continue
      }
      if (isQuota(limit.kind)) {
        const { counts, period } = quotaOf(limit.kind)
        if (!principal || (counts === 'tokens' && estimate === undefined)) continue
        const quota = this.quota(limit, principal, now)
        if (quota.used >= limit.value) {
          undo()
          return new Refusal(limit, periodEnd(period, now) - now)
        }
        // A reservation takes at most the whole quota: enough to refuse the next request until it is settled.
        const amount = counts === 'tokens' ? Math.min(estimate!, limit.value) : 1
        if (counts === 'tokens') {
          const left = limit.value - quota.used
          if (tokensLeft === undefined || left < tokensLeft) tokensLeft = left
        }
        quota.used = assertState(quota.used + amount)
        quotaTaken.push([quota, amount])
        // Token quotas are announced once the reservation is settled; a request counts whole at once.
        if (counts === 'tokens') quotaReserved.push([limit, quota, amount])
        else this.announce(limit, quota, principal)
        continue
      }
      const bucket = this.bucket(limit, now)
      if (limit.kind.startsWith('t')) {
        if (estimate === undefined) continue
        const amount = bucket.reserve(estimate, now)
        if (amount < 0) {
          undo()
          return new Refusal(limit, bucket.waitMs(now, Number.MIN_VALUE))
        }
        reserved.push([bucket, amount])
      } else {
        if (!bucket.take(1, now)) {
          undo()
          return new Refusal(limit, bucket.waitMs(now, 1))
        }
        taken.push(bucket)
      }
    }
    const headers = withHeaders ? this.rateHeaders(applied, now) : noHeaders
    let released = false
    return {
      headers,
      tokensLeft,
      release: (tokensUsed, streamed) => {
        if (released) return
        released = true
        // Unknown use (an abort before any count, or a count that is not one): the reservation stands, or what was
        // streamed when that is more (a client must not take a long reply and leave before its counts unpaid).
        const used = tokenCount(tokensUsed)
        const atLeast = used === undefined && streamed !== undefined ? tokenCount(streamed) : undefined
        if (used !== undefined || atLeast !== undefined) {
          const at = this.time()
          for (const [bucket, amount] of reserved) bucket.settle(amount, used ?? Math.max(amount, atLeast!), at)
          for (const [, quota, amount] of quotaReserved) {
            const total = quota.used - amount + (used ?? Math.max(amount, atLeast!))
            quota.used = assertState(total < 0 ? 0 : total > maxLimiterState ? maxLimiterState : total)
          }
        }
        for (const [limit, quota] of quotaReserved) this.announce(limit, quota, principal!)
        for (const slot of slots) this.leave(slot)
      },
    }
  }

  /** The rate-limit headers of a caller's request and token buckets as they are now (one writer for every answer). */
  private rateHeaders(applied: AppliedLimit[], now: number): string[] {
    // A resolved list never changes (RuleSet caches it): what its headers always say is worked out once.
    let plan = headerPlans.get(applied)
    if (plan === undefined) {
      const limits = applied.filter((limit) => limit.kind !== 'concurrency' && !isQuota(limit.kind))
      plan = limits.length === 0 ? null : headerPlan(limits)
      headerPlans.set(applied, plan)
    }
    if (plan === null) return noHeaders
    const buckets: TokenBucket[] = new Array<TokenBucket>(plan.limits.length)
    for (let i = 0; i < plan.limits.length; i++) buckets[i] = this.bucket(plan.limits[i]!, now)
    return planHeaders(plan, buckets, now)
  }

  private bucket(limit: AppliedLimit, now: number): TokenBucket {
    // The counter names the kind (so the window): a bucket of the same capacity is the same bucket, whatever rule
    // set it; one of another capacity belongs to a changed limit and starts over, full.
    const buckets = limit.rule.subjectType === 'ip' ? this.addressBuckets : this.buckets
    let bucket = buckets.get(limit.counter)
    if (!bucket || bucket.capacity !== limit.value) {
      bucket = new TokenBucket(limit.value, windowMs[limit.kind as BucketKind], now)
      buckets.set(limit.counter, bucket)
    }
    return bucket
  }

  /** The quota's state in the current period, read from the rollups when the period (or the limiter) is new. */
  private quota(limit: AppliedLimit, principal: Principal, now: number): QuotaState {
    const kind = limit.kind as QuotaKind
    const { counts, period } = quotaOf(kind)
    const periodStart = periodStartOf(period, now)
    let state = this.quotas.get(limit.counter)
    if (!state || state.periodStart !== periodStart) {
      const fired = new Set(this.alerts?.sent(limit.counter, periodStart) ?? [])
      const used = usedAmount(this.usedSince(limit, principal, periodStart, counts))
      state = { rule: limit.rule, kind, periodStart, used, fired }
      this.quotas.set(limit.counter, state)
    }
    return state
  }

  /** Fires each alert threshold the quota has reached and not yet announced this period. */
  private announce(limit: AppliedLimit, quota: QuotaState, principal: Principal): void {
    if (!this.alerts) return
    for (const threshold of this.alerts.thresholds) {
      if (quota.used * 100 < threshold * limit.value || quota.fired.has(threshold)) continue
      quota.fired.add(threshold)
      const kind = limit.kind as QuotaKind
      const byKey = limit.rule.subjectType === 'key'
      this.alerts.fire({
        threshold,
        quota: kind,
        limit: limit.value,
        used: quota.used,
        periodStart: quota.periodStart,
        periodEnd: periodEnd(quotaOf(kind).period, quota.periodStart),
        subject: byKey
          ? { type: 'key', id: principal.keyId!, username: principal.username }
          : { type: 'user', id: String(principal.userId), username: principal.username },
        gateway: limit.rule.gateway,
        model: limit.rule.model || null,
        counter: limit.counter,
      })
    }
  }

  private leave(counter: string): void {
    const used = (this.inFlight.get(counter) ?? 1) - 1
    if (used <= 0) this.inFlight.delete(counter)
    else this.inFlight.set(counter, used)
  }
}

/** Which limit refused a request, and how long until it would admit one. */
class Refusal {
  constructor(
    readonly limit: AppliedLimit,
    readonly waitMs: number,
  ) {}
}

function refusal(limit: AppliedLimit, waitMs: number, owner: string, headers: string[]): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return new GatewayError(
    'rate_limit_exceeded',
    `rate limit exceeded: ${limit.value} ${describe[limit.kind]} (${owner}); retry in ${seconds} s`,
    refusalHeaders(seconds, headers),
    limit.kind,
  )
}

/** Retry-After, then the rate-limit headers an admission would carry. */
function refusalHeaders(seconds: number, headers: string[]): Record<string, string> {
  const all: Record<string, string> = { 'retry-after': String(seconds) }
  for (let i = 0; i < headers.length; i += 2) all[headers[i]!] = headers[i + 1]!
  return all
}

/** Whose limit it is, as the 429 names it. */
function ownerOf(limit: AppliedLimit, principal: Principal): string {
  const whose =
    limit.rule.subjectType === 'key'
      ? `API key ${principal.keyId}`
      : limit.rule.subjectType === 'user'
        ? `user ${principal.username}`
        : limit.rule.subjectType === 'role'
          ? `the ${principal.role} role's limit for each user`
          : `the default limit for each user`
  const forModel = limit.rule.model === '' ? whose : `${whose} for model ${limit.rule.model}`
  return limit.rule.gateway === '*' ? forModel : `${forModel} on the ${limit.rule.gateway} API`
}

/** The period last computed, per kind: every request of a day asks for the same start (a Date each is ~0.1 µs). */
const periodCache = { day: { from: 1, to: 0 }, month: { from: 1, to: 0 } }

/** Calendar periods in UTC: a day from midnight, a month from its first day. */
function periodStartOf(period: 'day' | 'month', now: number): number {
  const cached = periodCache[period]
  if (now >= cached.from && now < cached.to) return cached.from
  const date = new Date(now)
  const from =
    period === 'day'
      ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
      : Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
  periodCache[period] = { from, to: periodEnd(period, from) }
  return from
}

function periodEnd(period: 'day' | 'month', now: number): number {
  const date = new Date(now)
  return period === 'day'
    ? Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1)
    : Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
}

function quotaRefusal(limit: AppliedLimit, waitMs: number, principal: Principal, headers: string[]): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  const { counts, period } = quotaOf(limit.kind as QuotaKind)
  return new GatewayError(
    'quota_exceeded',
    `quota used up: ${limit.value} ${counts} per ${period} (${ownerOf(limit, principal)}); it renews in ${seconds} s`,
    refusalHeaders(seconds, headers),
    limit.kind,
  )
}

/** What a route needs of the limits: the address guard and the caller's admission (the Limiter, or none in a bench). */
export interface RouteLimits {
  admit: (
    principal: Principal,
    api: string,
    model: string | null,
    tokenEstimate: number | undefined,
    /** false: request buckets and concurrency only (a refused request spends no quota). */
    quotas?: boolean,
  ) => Admission | GatewayError
  /** Admission by client address (address rules), before anything else; undefined when none applies. */
  admitAddress: (address: string, api: string) => Admission | GatewayError | undefined
}
