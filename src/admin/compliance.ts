// The compliance report (`parallama report compliance`, GET /admin/v1/compliance, the dashboard): what an auditor asks
// of a gateway — who may do what, which credentials never end or are forgotten, whether data is kept and backed up as
// promised, what is exposed — each as a check that passes, warns or fails, with what to do. It reads; it changes
// nothing. Each check is one small function of facts gathered once, so a test can plant each situation.
import type { Config } from '../config/schema.js'
import { everyAddressRange, loopbackOnlyRange, splitRanges } from '../limits/addressList.js'
import type { ApiKey } from '../store/apiKeys.js'
import type { User } from '../store/users.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'

export interface ComplianceCheck {
  id: string
  title: string
  status: CheckStatus
  /** What was found, in a sentence. */
  detail: string
  /** What to do about it (null when it passes). */
  action: string | null
  /** The users, keys or settings the finding is about (at most `itemLimit`). */
  items: string[]
}

/** How each user signs in: the report's table of people. */
export interface UserSignIn {
  username: string
  role: string
  active: boolean
  password: boolean
  sso: boolean
  keys: number
  last_login: string | null
}

export interface ComplianceReport {
  generated: string
  summary: Record<CheckStatus, number>
  checks: ComplianceCheck[]
  users: UserSignIn[]
}

/** Everything the checks look at, gathered once by the caller (CLI or server). */
export interface ComplianceFacts {
  now: number
  config: Config
  users: User[]
  keys: ApiKey[]
  /** Users linked to an SSO identity (by id), and whether SSO is configured at all. */
  ssoUsers: ReadonlySet<number>
  ssoConfigured: boolean
  /** The newest scheduled backup's time (ms), or null when the folder holds none (or none is configured). */
  newestBackupAt: number | null
  /** Checks that other rooms contribute (the audit chain, TLS, the dependency audit), already computed. */
  extra: ComplianceCheck[]
}

export interface ComplianceOptions {
  /** A key unused for this many days is reported. */
  unusedDays: number
  /** A key older than this many days is reported. */
  keyAgeDays: number
}

export const defaultComplianceOptions: ComplianceOptions = { unusedDays: 90, keyAgeDays: 365 }

const day = 86_400_000
/** Findings list at most this many items; the detail gives the full count. */
const itemLimit = 50

export function complianceReport(facts: ComplianceFacts, options = defaultComplianceOptions): ComplianceReport {
  const checks = [
    admins(facts),
    keysWithoutExpiry(facts),
    keysUnused(facts, options.unusedDays),
    keysOld(facts, options.keyAgeDays),
    signIn(facts),
    usageRetention(facts),
    backups(facts),
    metricsExposure(facts),
    ...facts.extra,
  ]
  const summary = { pass: 0, warn: 0, fail: 0 }
  for (const check of checks) summary[check.status]++
  return { generated: new Date(facts.now).toISOString(), summary, checks, users: signInTable(facts) }
}

/** A key that still lets someone in: not revoked, not past its expiry or its rotation's grace. */
export function keyIsLive(key: ApiKey, now: number): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now) && (key.validUntil ?? Infinity) > now
}

function liveKeys(facts: ComplianceFacts): ApiKey[] {
  const activeUsers = new Set(facts.users.filter((user) => user.active).map((user) => user.id))
  return facts.keys.filter((key) => keyIsLive(key, facts.now) && activeUsers.has(key.userId))
}

function check(
  id: string,
  title: string,
  status: CheckStatus,
  detail: string,
  action: string | null,
  items: string[] = [],
): ComplianceCheck {
  return { id, title, status, detail, action: status === 'pass' ? null : action, items: items.slice(0, itemLimit) }
}

const keyName = (key: ApiKey) => `${key.id} (${key.username}${key.name ? `, ${key.name}` : ''})`
const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`

function admins(facts: ComplianceFacts): ComplianceCheck {
  const active = facts.users.filter((user) => user.active && user.role === 'admin').map((user) => user.username)
  const title = 'Administrators'
  if (active.length === 0) {
    return check(
      'admins',
      title,
      'fail',
      'No active administrator.',
      'Create one: parallama user add NAME --role admin',
    )
  }
  // Many admins is many people who can read every key's usage and change every limit.
  const status = active.length > 5 ? 'warn' : 'pass'
  return check(
    'admins',
    title,
    status,
    `${plural(active.length, 'active administrator')}.`,
    'Give fewer people the admin role; operators and viewers cover most needs.',
    active,
  )
}

function keysWithoutExpiry(facts: ComplianceFacts): ComplianceCheck {
  const open = liveKeys(facts).filter((key) => key.expiresAt === null && key.validUntil === null)
  return check(
    'keys_without_expiry',
    'API keys without an expiry',
    open.length === 0 ? 'pass' : 'warn',
    open.length === 0 ? 'Every live API key expires.' : `${plural(open.length, 'live API key')} never expire.`,
    'Rotate them into keys with an expiry: parallama key rotate ID, or create new ones with --expires.',
    open.map(keyName),
  )
}

function keysUnused(facts: ComplianceFacts, days: number): ComplianceCheck {
  const since = facts.now - days * day
  const unused = liveKeys(facts).filter((key) => (key.lastUsedAt ?? key.createdAt) < since)
  return check(
    'keys_unused',
    `API keys unused for ${days} days`,
    unused.length === 0 ? 'pass' : 'warn',
    unused.length === 0
      ? `Every live API key was used (or made) within ${days} days.`
      : `${plural(unused.length, 'live API key')} unused for ${days} days or more.`,
    'Revoke keys nobody uses: parallama key revoke ID.',
    unused.map(keyName),
  )
}

function keysOld(facts: ComplianceFacts, days: number): ComplianceCheck {
  const before = facts.now - days * day
  const old = liveKeys(facts).filter((key) => key.createdAt < before)
  return check(
    'keys_old',
    `API keys older than ${days} days`,
    old.length === 0 ? 'pass' : 'warn',
    old.length === 0
      ? `No live API key is older than ${days} days.`
      : `${plural(old.length, 'live API key')} older than ${days} days.`,
    'Rotate them: parallama key rotate ID --grace 7d.',
    old.map(keyName),
  )
}

function signIn(facts: ComplianceFacts): ComplianceCheck {
  const active = facts.users.filter((user) => user.active)
  const sso = active.filter((user) => facts.ssoUsers.has(user.id)).length
  const password = active.filter((user) => user.passwordHash !== null).length
  const ssoOn = facts.ssoConfigured
  // With SSO on, a password is a second way in that the IdP's policies (MFA, offboarding) do not cover.
  const bypass = ssoOn ? active.filter((user) => user.passwordHash !== null).map((user) => user.username) : []
  return check(
    'sign_in',
    'How people sign in',
    bypass.length === 0 ? 'pass' : 'warn',
    `${plural(active.length, 'active user')}: ${password} with a password, ${sso} through SSO${ssoOn ? '' : ' (SSO is not configured)'}.`,
    'With SSO on, remove local passwords so the IdP decides who gets in (parallama user passwd NAME --no-password).',
    bypass,
  )
}

function usageRetention(facts: ComplianceFacts): ComplianceCheck {
  const retention = facts.config.usage.retention
  return check(
    'usage_retention',
    'Usage retention',
    retention === 0 ? 'warn' : 'pass',
    retention === 0
      ? 'Per-request usage rows are kept forever.'
      : `Per-request usage rows are kept ${Math.round(retention / day)} days (hourly rollups longer).`,
    'Set usage.retention to what your data policy allows (e.g. 90d).',
  )
}

function backups(facts: ComplianceFacts): ComplianceCheck {
  const { backup_dir: folder, backup_interval: interval } = facts.config.database
  const title = 'Scheduled backups'
  if (folder === '') {
    return check(
      'backups',
      title,
      'fail',
      'No scheduled backups (database.backup_dir is empty).',
      'Set database.backup_dir to a folder (ideally another disk) and copy it off the box.',
    )
  }
  if (facts.newestBackupAt === null) {
    return check(
      'backups',
      title,
      'fail',
      `No backup in ${folder} yet.`,
      'Check that the server runs and can write there; the log says why a backup failed.',
    )
  }
  const age = facts.now - facts.newestBackupAt
  return check(
    'backups',
    title,
    age > 2 * interval ? 'fail' : 'pass',
    `The newest verified backup in ${folder} is ${Math.round(age / 3_600_000)} h old (one is made every ${Math.round(interval / 3_600_000)} h).`,
    'Backups have stopped: read the server log for the backup error.',
  )
}

function metricsExposure(facts: ComplianceFacts): ComplianceCheck {
  const { enabled, allow_from: allowFrom } = facts.config.metrics
  const title = 'Metrics exposure'
  if (!enabled) return check('metrics', title, 'pass', 'GET /metrics is off.', null)
  const ranges = splitRanges(allowFrom)
  if (ranges.some(everyAddressRange)) {
    return check(
      'metrics',
      title,
      'fail',
      `Anyone may read /metrics without a credential (metrics.allow_from: ${allowFrom}).`,
      'Limit metrics.allow_from to your Prometheus servers.',
    )
  }
  return check(
    'metrics',
    title,
    ranges.every(loopbackOnlyRange) ? 'pass' : 'warn',
    `/metrics is readable without a credential from ${allowFrom || 'nowhere'}; others need view_metrics.`,
    'Make sure only your Prometheus servers are in metrics.allow_from: metrics name backends and models.',
  )
}

function signInTable(facts: ComplianceFacts): UserSignIn[] {
  const keys = new Map<number, number>()
  for (const key of liveKeys(facts)) keys.set(key.userId, (keys.get(key.userId) ?? 0) + 1)
  return facts.users.map((user) => ({
    username: user.username,
    role: user.role,
    active: user.active,
    password: user.passwordHash !== null,
    sso: facts.ssoUsers.has(user.id),
    keys: keys.get(user.id) ?? 0,
    last_login: user.lastLoginAt === null ? null : new Date(user.lastLoginAt).toISOString(),
  }))
}

/** The report as Markdown, for `--format md` and for pasting into a review. */
export function complianceMarkdown(report: ComplianceReport): string {
  const mark = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' }
  const lines = [
    `# Parallama compliance report`,
    '',
    `Generated ${report.generated}: ${report.summary.pass} pass, ${report.summary.warn} warn, ${report.summary.fail} fail.`,
    '',
    '| status | check | finding | what to do |',
    '| --- | --- | --- | --- |',
    ...report.checks.map(
      (c) => `| ${mark[c.status]} | ${cell(c.title)} | ${cell(c.detail)} | ${cell(c.action ?? '')} |`,
    ),
  ]
  for (const c of report.checks.filter((c) => c.items.length > 0 && c.status !== 'pass')) {
    lines.push('', `## ${c.title}`, '', ...c.items.map((item) => `- ${cell(item)}`))
  }
  lines.push('', '## Users', '', '| user | role | active | password | SSO | live keys | last login |')
  lines.push('| --- | --- | --- | --- | --- | --- | --- |')
  for (const u of report.users) {
    lines.push(
      `| ${cell(u.username)} | ${u.role} | ${yes(u.active)} | ${yes(u.password)} | ${yes(u.sso)} | ${u.keys} | ${u.last_login ?? 'never'} |`,
    )
  }
  return `${lines.join('\n')}\n`
}

const yes = (value: boolean) => (value ? 'yes' : 'no')
/**
 * Text in a table cell or list item, kept text: line breaks would end it early, and names come from users (a key's),
 * so every character that makes Markdown (a pipe, HTML, a link or image, code, emphasis, a backslash) is escaped.
 */
const cell = (text: string) => text.replace(/[\\`*_[\]<>|!]/g, '\\$&').replace(/[\r\n]+/g, ' ')
