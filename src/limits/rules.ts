// Which limits apply to a request, and where each comes from: for every kind of limit, the most specific rule that
// sets it — the key's, then its user's, then its role's, then the global default — with a rule for the request's
// API before one shared by both ('*').
import { BlockList, isIP } from 'node:net'
import type { Role } from '../auth/permissions.js'

export const limitKinds = [
  'rpm',
  'rph',
  'rpd',
  'tpm',
  'tph',
  'tpd',
  'concurrency',
  'daily_tokens',
  'monthly_tokens',
  'daily_requests',
  'monthly_requests',
] as const
export type LimitKind = (typeof limitKinds)[number]
export type SubjectType = 'key' | 'user' | 'role' | 'default' | 'ip'
export type Gateway = 'ollama' | 'openai' | '*'

export interface LimitRule {
  subjectType: SubjectType
  /** Key id, user id (as text), role name, or '' for the default. */
  subject: string
  gateway: Gateway
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
  userId: number
  role: Role
}

/** Kinds an address rule may set: an address has no token count before it is authenticated. */
const addressKinds: LimitKind[] = ['rpm', 'rph', 'rpd', 'concurrency']

export class RuleSet {
  private readonly bySubject = new Map<string, LimitRule>()
  /** Address rules, narrowest range first (the most specific wins). */
  private readonly addressRules: { rule: LimitRule; range: BlockList; prefix: number }[] = []

  constructor(rules: LimitRule[]) {
    for (const rule of rules) {
      if (rule.subjectType === 'ip') {
        const range = parseRange(rule.subject)
        if (range) this.addressRules.push({ rule, ...range })
      } else this.bySubject.set(`${rule.subjectType}\u0000${rule.subject}\u0000${rule.gateway}`, rule)
    }
    this.addressRules.sort((a, b) => b.prefix - a.prefix)
  }

  get size(): number {
    return this.bySubject.size
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

  /** The limits that apply to a caller on an API, most specific first per kind. */
  resolve(caller: Caller, api: string): AppliedLimit[] {
    const candidates: [SubjectType, string][] = [
      ['key', caller.keyId ?? ''],
      ['user', String(caller.userId)],
      ['role', caller.role],
      ['default', ''],
    ]
    const applied: AppliedLimit[] = []
    for (const kind of limitKinds) {
      found: for (const [type, subject] of candidates) {
        if (type === 'key' && caller.keyId === null) continue
        for (const gateway of [api, '*']) {
          const rule = this.bySubject.get(`${type}\u0000${subject}\u0000${gateway}`)
          const value = rule?.values[kind]
          if (rule && value !== undefined) {
            const owner = type === 'key' ? `key:${subject}` : `user:${caller.userId}`
            applied.push({ kind, value, rule, counter: `${kind}|${owner}|${gateway}` })
            break found
          }
        }
      }
    }
    return applied
  }
}

/** A CIDR range (`10.0.0.0/8`, `::1/128`, or a bare address); undefined when it is not one. */
export function parseRange(cidr: string): { range: BlockList; prefix: number } | undefined {
  const [address, prefixText] = cidr.split('/')
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
