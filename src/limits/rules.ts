// Which limits apply to a request, and where each comes from: for every kind of limit, the most specific rule that
// sets it — the key's, then its user's, then its role's, then the global default — with a rule for the request's
// API before one shared by both ('*').
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
export type SubjectType = 'key' | 'user' | 'role' | 'default'
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

export class RuleSet {
  private readonly bySubject = new Map<string, LimitRule>()

  constructor(rules: LimitRule[]) {
    for (const rule of rules) this.bySubject.set(`${rule.subjectType}\u0000${rule.subject}\u0000${rule.gateway}`, rule)
  }

  get size(): number {
    return this.bySubject.size
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
