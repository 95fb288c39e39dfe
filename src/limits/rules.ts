// Which limits apply to a request, and where each comes from: for every kind of limit, the most specific rule that
// sets it — the key's, then its user's, then its role's, then the global default — with a rule for the request's
// API before one shared by both ('*'). Rules for one model are resolved the same way and apply in addition.
import { BlockList, isIP } from 'node:net'
import type { Role } from '../auth/permissions.js'
import { limitKinds, type LimitKind } from './limitKinds.js'
import { limitValue } from './limitNumbers.js'

export { limitKinds, type LimitKind }
export type SubjectType = 'key' | 'user' | 'role' | 'default' | 'ip'
export type Gateway = 'ollama' | 'openai' | '*'

export interface LimitRule {
  subjectType: SubjectType
  /** Key id, user id (as text), role name, or '' for the default. */
  subject: string
  gateway: Gateway
  /** One model in Ollama's normal form (see normalizeModel), or '' for every model. */
  model: string
  values: Partial<Record<LimitKind, number>>
}

export interface AppliedLimit {
  kind: LimitKind
  value: number
  rule: LimitRule
  /** Which counter it uses: a key's own, or its user's (user, role and default limits are per user). */
  counter: string
}

export type QuotaKind = 'daily_tokens' | 'monthly_tokens' | 'daily_requests' | 'monthly_requests'
export type BucketKind = Exclude<LimitKind, 'concurrency' | QuotaKind>

export function isQuota(kind: LimitKind): kind is QuotaKind {
  return kind.startsWith('daily_') || kind.startsWith('monthly_')
}

/** What a quota counts, and over which calendar period. */
export function quotaOf(kind: QuotaKind): { counts: 'tokens' | 'requests'; period: 'day' | 'month' } {
  return {
    counts: kind.endsWith('_tokens') ? 'tokens' : 'requests',
    period: kind.startsWith('daily_') ? 'day' : 'month',
  }
}

export const windowMs: Record<BucketKind, number> = {
  rpm: 60_000,
  rph: 3_600_000,
  rpd: 86_400_000,
  tpm: 60_000,
  tph: 3_600_000,
  tpd: 86_400_000,
}

export interface Caller {
  keyId: string | null
  /** The keys that made the caller's key, nearest first: their key rules apply to it when it has none of its own. */
  makers?: readonly string[]
  userId: number
  role: Role
}

/** Kinds an address rule may set: an address has no token count before it is authenticated. */
export const addressKinds: readonly LimitKind[] = ['rpm', 'rph', 'rpd', 'concurrency']

export class RuleSet {
  private readonly bySubject = new Map<string, LimitRule>()
  private readonly models = new Set<string>()
  private readonly resolved = new Map<string, AppliedLimit[]>()
  /** Each caller's last resolution (callers are immutable snapshots: a changed key or user is a new object). */
  private readonly lastAnswer = new WeakMap<Caller, { api: string; scoped: string; applied: AppliedLimit[] }>()
  /** Address rules, narrowest range first (the most specific wins). */
  private readonly addressRules: { rule: LimitRule; range: BlockList; prefix: number }[] = []

  constructor(stored: LimitRule[]) {
    // A limit is a whole number from 1 to maxLimitValue whatever the database holds (limitNumbers.ts).
    const rules = stored.map(checkedRule)
    for (const rule of rules) {
      if (rule.subjectType === 'ip') {
        const range = parseRange(rule.subject)
        if (range) this.addressRules.push({ rule, ...range })
      } else {
        this.bySubject.set(ruleKey(rule.subjectType, rule.subject, rule.gateway, rule.model), rule)
        if (rule.model !== '') this.models.add(rule.model)
      }
    }
    this.addressRules.sort((a, b) => b.prefix - a.prefix)
  }

  get size(): number {
    return this.bySubject.size
  }

  /** The rule set for exactly this subject, API and model (not resolved: no fallback to a wider one). */
  ruleFor(subjectType: SubjectType, subject: string, gateway: Gateway, model: string): LimitRule | undefined {
    return this.bySubject.get(ruleKey(subjectType, subject, gateway, model))
  }

  get hasAddressRules(): boolean {
    return this.addressRules.length > 0
  }

  /** The limits on a client address (every request, before and whatever its credential), per client address. */
  resolveAddress(address: string, api: string): AppliedLimit[] {
    const family = address.includes(':') ? 'ipv6' : 'ipv4'
    const applied: AppliedLimit[] = []
    for (const kind of addressKinds) {
      for (const { rule, range } of this.addressRules) {
        const value = rule.values[kind]
        if (value === undefined || (rule.gateway !== '*' && rule.gateway !== api)) continue
        if (!range.check(address, family)) continue
        applied.push({ kind, value, rule, counter: `${kind}|ip:${address}|${rule.gateway}` })
        break
      }
    }
    return applied
  }

  /**
   * The limits that apply to a caller on an API, most specific first per kind; with a model (normal form), also the
   * limits set for that model. Resolved once per caller, API and model, then cached (a RuleSet never changes: new
   * rules make a new one).
   */
  resolve(caller: Caller, api: string, model: string | null = null): AppliedLimit[] {
    const scoped = model !== null && this.models.has(model) ? model : ''
    // A caller (the principal cache hands out one object per credential) mostly asks the same again: its last answer
    // is kept with it, which spares building and hashing the cache key below.
    const last = this.lastAnswer.get(caller)
    if (last !== undefined && last.api === api && last.scoped === scoped) return last.applied
    const cacheKey = `${caller.keyId}\u0000${caller.userId}\u0000${caller.role}\u0000${api}\u0000${scoped}`
    let applied = this.resolved.get(cacheKey)
    if (applied) {
      this.lastAnswer.set(caller, { api, scoped, applied })
      return applied
    }
    applied = []
    this.resolveFor(caller, api, '', applied)
    if (scoped !== '') this.resolveFor(caller, api, scoped, applied)
    // Bounded by the callers in the database times APIs and model rules; the cap only guards against surprises.
    if (this.resolved.size >= maxResolved) this.resolved.clear()
    this.resolved.set(cacheKey, applied)
    this.lastAnswer.set(caller, { api, scoped, applied })
    return applied
  }

  private resolveFor(caller: Caller, api: string, model: string, applied: AppliedLimit[]): void {
    // A key made by a key is under its makers' key rules (their counters, shared with them) where it has none itself:
    // a credential never makes one less limited than itself.
    const candidates: [SubjectType, string][] = [
      ['key', caller.keyId ?? ''],
      ...(caller.makers ?? []).map((maker): [SubjectType, string] => ['key', maker]),
      ['user', String(caller.userId)],
      ['role', caller.role],
      ['default', ''],
    ]
    // The rules that could apply, most specific first.
    const found: LimitRule[] = []
    for (const [type, subject] of candidates) {
      if (type === 'key' && caller.keyId === null) continue
      for (const gateway of [api, '*']) {
        const rule = this.bySubject.get(ruleKey(type, subject, gateway, model))
        if (rule) found.push(rule)
      }
    }
    const scope = model === '' ? '' : `|${model}`
    for (const kind of limitKinds) {
      const rule = found.find((candidate) => candidate.values[kind] !== undefined)
      if (!rule) continue
      const owner = rule.subjectType === 'key' ? `key:${rule.subject}` : `user:${caller.userId}`
      applied.push({ kind, value: rule.values[kind]!, rule, counter: `${kind}|${owner}|${rule.gateway}${scope}` })
    }
  }
}

const maxResolved = 100_000

function checkedRule(rule: LimitRule): LimitRule {
  const values: Partial<Record<LimitKind, number>> = {}
  for (const kind of limitKinds) {
    const value = rule.values[kind]
    if (value !== undefined && value !== null) values[kind] = limitValue(value)
  }
  return { ...rule, values }
}

function ruleKey(type: string, subject: string, gateway: string, model: string): string {
  return `${type}\u0000${subject}\u0000${gateway}\u0000${model}`
}

/** A CIDR range (`10.0.0.0/8`, `::1/128`, or a bare address); undefined when it is not one. */
export function parseRange(cidr: string): { range: BlockList; prefix: number } | undefined {
  const [address, prefixText, ...rest] = cidr.split('/')
  // A second slash is a typo, not a comment: 10.0.0.0/8/16 is refused rather than read as 10.0.0.0/8.
  if (rest.length > 0) return undefined
  const family = isIP(address ?? '')
  if (family === 0) return undefined
  const bits = family === 4 ? 32 : 128
  const prefix = prefixText === undefined ? bits : Number(prefixText)
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > bits ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    return undefined
  }
  const range = new BlockList()
  range.addSubnet(address!, prefix, family === 4 ? 'ipv4' : 'ipv6')
  return { range, prefix }
}
