// The compliance report: each check on planted situations (pass, warn, fail), an invariant over generated users and
// keys (every live key without an expiry is named, no dead key ever is, no secret appears, the summary counts the
// checks), and the report over the real CLI (exit 1 on a fail, read-only) and the admin API (its documented shape).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { complianceMarkdown, complianceReport, keyIsLive, type ComplianceFacts } from '../../src/admin/compliance.js'
import { dependencyAuditCheck, tlsCheck, trustedProxiesCheck } from '../../src/admin/deploymentChecks.js'
import { auditChainCheck } from '../../src/admin/auditChainCheck.js'
import { configFrom } from '../../src/config/load.js'
import { AuditLog } from '../../src/events/auditLog.js'
import { openStore } from '../../src/store/store.js'
import type { ApiKey } from '../../src/store/apiKeys.js'
import type { User } from '../../src/store/users.js'
import { adminCall } from '../helpers/adminApi.js'
import { apiKeyRecord } from '../helpers/apiKeyRecord.js'
import { makeCa } from '../helpers/certificates.js'
import { runCli } from '../helpers/cli.js'
import { expectMatches } from '../helpers/expectMatches.js'
import { startRig } from '../helpers/gateway.js'

const day = 86_400_000
const now = Date.UTC(2026, 11, 1)

function user(id: number, fields: Partial<User> = {}): User {
  return {
    id,
    username: `u${id}`,
    email: null,
    displayName: null,
    passwordHash: null,
    role: 'user',
    active: true,
    createdAt: now - 400 * day,
    updatedAt: now,
    lastLoginAt: null,
    tokenEpoch: 0,
    weight: 1,
    allowIp: null,
    ...fields,
  }
}

function key(id: string, userId: number, fields: Partial<ApiKey> = {}): ApiKey {
  const live = { createdAt: now - day, expiresAt: now + 30 * day, lastUsedAt: now - day }
  return apiKeyRecord({ id, userId, username: `u${userId}`, prefix: `plm_${id}`, ...live, ...fields })
}

function facts(fields: Partial<ComplianceFacts> = {}, settings: Record<string, unknown> = {}): ComplianceFacts {
  return {
    now,
    config: configFrom({ database: { backup_dir: '/backups' }, ...settings }),
    users: [user(1, { role: 'admin', passwordHash: 'x' })],
    keys: [key('a', 1)],
    ssoUsers: new Set(),
    ssoConfigured: false,
    newestBackupAt: now - 3_600_000,
    extra: [],
    ...fields,
  }
}

const statusOf = (f: ComplianceFacts, id: string) => complianceReport(f).checks.find((c) => c.id === id)

t.test('a tidy gateway passes every check', async (t) => {
  const report = complianceReport(facts())
  t.same(report.summary, { pass: report.checks.length, warn: 0, fail: 0 })
  t.ok(report.checks.every((c) => c.action === null))
})

t.test('each check on the situation it is about', async (t) => {
  t.match(statusOf(facts({ users: [user(1, { role: 'admin', active: false })] }), 'admins'), { status: 'fail' })
  const many = Array.from({ length: 6 }, (_, i) => user(i + 1, { role: 'admin' }))
  t.match(statusOf(facts({ users: many }), 'admins'), { status: 'warn', items: many.map((u) => u.username) })
  t.match(statusOf(facts({ keys: [key('a', 1, { expiresAt: null })] }), 'keys_without_expiry'), {
    status: 'warn',
    items: ['a (u1)'],
  })
  t.match(statusOf(facts({ keys: [key('a', 1, { lastUsedAt: now - 91 * day })] }), 'keys_unused'), { status: 'warn' })
  t.match(statusOf(facts({ keys: [key('a', 1, { lastUsedAt: null, createdAt: now - 91 * day })] }), 'keys_unused'), {
    status: 'warn',
  })
  t.match(statusOf(facts({ keys: [key('a', 1, { createdAt: now - 400 * day })] }), 'keys_old'), { status: 'warn' })
  t.match(statusOf(facts({ ssoConfigured: true }), 'sign_in'), { status: 'warn', items: ['u1'] })
  t.match(statusOf(facts({}, { usage: { retention: 0 } }), 'usage_retention'), { status: 'warn' })
  t.match(statusOf(facts({}, { database: { backup_dir: '' } }), 'backups'), { status: 'fail' })
  t.match(statusOf(facts({ newestBackupAt: null }), 'backups'), { status: 'fail' })
  t.match(statusOf(facts({ newestBackupAt: now - 3 * day }), 'backups'), { status: 'fail' })
  t.match(statusOf(facts({}, { metrics: { allow_from: '0.0.0.0/0' } }), 'metrics'), { status: 'fail' })
  t.match(statusOf(facts({}, { metrics: { allow_from: '10.0.0.0/8' } }), 'metrics'), { status: 'warn' })
  t.match(statusOf(facts({}, { metrics: { enabled: false, allow_from: '0.0.0.0/0' } }), 'metrics'), {
    status: 'pass',
  })
})

t.test('dead keys and keys of disabled users are not findings', async (t) => {
  const dead = [
    key('revoked', 1, { expiresAt: null, revokedAt: now - day }),
    key('expired', 1, { expiresAt: now - 1, createdAt: now - 900 * day }),
    key('rotated', 1, { expiresAt: null, replacedBy: 'b', validUntil: now - 1 }),
    key('disabled', 2, { expiresAt: null, lastUsedAt: null, createdAt: now - 900 * day }),
  ]
  const report = complianceReport(
    facts({ users: [user(1, { role: 'admin' }), user(2, { active: false })], keys: dead }),
  )
  t.same(report.summary.warn + report.summary.fail, 0, JSON.stringify(report.checks))
})

const arbitraryKey = (userIds: number[]) =>
  fc.record({
    id: fc.stringMatching(/^[a-z0-9]{6}$/),
    userId: fc.constantFrom(...userIds),
    name: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
    createdAt: fc.integer({ min: now - 1000 * day, max: now }),
    expiresAt: fc.option(fc.integer({ min: now - 100 * day, max: now + 100 * day }), { nil: null }),
    revokedAt: fc.option(fc.constant(now - day), { nil: null }),
    lastUsedAt: fc.option(fc.integer({ min: now - 1000 * day, max: now }), { nil: null }),
    validUntil: fc.option(fc.integer({ min: now - 10 * day, max: now + 10 * day }), { nil: null }),
  })

t.test('invariant: exactly the live keys without an expiry are named, and never a secret', async (t) => {
  const userIds = [1, 2, 3]
  fc.assert(
    fc.property(
      fc.uniqueArray(arbitraryKey(userIds), { selector: (k) => k.id, maxLength: 30 }),
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      (fields, active) => {
        const users = userIds.map((id, i) => user(id, { active: active[i]!, role: i === 0 ? 'admin' : 'user' }))
        const keys = fields.map((f) => key(f.id, f.userId, { ...f, username: `u${f.userId}` }))
        const report = complianceReport(facts({ users, keys }))
        const liveOpen = keys.filter(
          (k) => keyIsLive(k, now) && users[k.userId - 1]!.active && k.expiresAt === null && k.validUntil === null,
        )
        const named = report.checks.find((c) => c.id === 'keys_without_expiry')!
        t.ok(named.items.length === Math.min(liveOpen.length, 50))
        for (const k of liveOpen.slice(0, 50))
          if (!named.items.some((item) => item.startsWith(`${k.id} `))) return false
        const counted = report.summary.pass + report.summary.warn + report.summary.fail
        return counted === report.checks.length && !JSON.stringify(report).includes('plm_')
      },
    ),
    { numRuns: 300 },
  )
})

t.test('the Markdown keeps table cells whole whatever a key is named', async (t) => {
  const report = complianceReport(facts({ keys: [key('a', 1, { expiresAt: null, name: 'a|b\nc' })] }))
  const markdown = complianceMarkdown(report)
  t.match(markdown, 'a (u1, a\\|b c)')
  t.notMatch(markdown, /a\|b/)
})

t.test('TLS: plain HTTP is fine on loopback only; a certificate near or past its end is reported', async (t) => {
  t.match(tlsCheck(configFrom({}), now), { status: 'pass' })
  t.match(tlsCheck(configFrom({ server: { host: '0.0.0.0' } }), now), { status: 'warn', detail: /in clear/ })
  const dir = mkdtempSync(join(tmpdir(), 'parallama-compliance-tls-'))
  const ca = makeCa(dir, 'gateway')
  const config = configFrom({ server: { host: '0.0.0.0', tls: { cert_file: ca.certFile, key_file: ca.keyFile } } })
  t.match(tlsCheck(config, Date.now()), { status: 'warn', detail: /expires in 1 days/ }, 'two days left: renew')
  t.match(tlsCheck(config, Date.now() + 3 * day), { status: 'fail', detail: /expired/ })
  t.match(tlsCheck(config, Date.now() - 30 * day), { status: 'pass' })
  const unreadable = configFrom({ server: { tls: { cert_file: join(dir, 'gone.crt'), key_file: ca.keyFile } } })
  t.match(tlsCheck(unreadable, now), { status: 'warn', detail: /could not be read/ })
})

t.test('trusted proxies: none, some, or everyone (which lets any client name its address)', async (t) => {
  t.match(trustedProxiesCheck(configFrom({})), { status: 'pass', detail: /No proxy is trusted/ })
  t.match(trustedProxiesCheck(configFrom({ server: { trusted_proxies: '10.0.0.5/32', allow_ip: '10.0.0.0/8' } })), {
    status: 'pass',
    items: ['10.0.0.5/32'],
    detail: /only 10.0.0.0\/8 may connect/,
  })
  t.match(trustedProxiesCheck(configFrom({ server: { trusted_proxies: '10.0.0.5/32, ::/0' } })), { status: 'fail' })
})

t.test('the audit chain: intact, signed checkpoints or not, and an edited row named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-compliance-chain-'))
  const store = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  const log = new AuditLog(store.db)
  for (const action of ['user.create', 'key.create', 'key.revoke']) {
    log.record({
      action,
      actor: { source: 'cli', user: null, keyId: null, clientIp: null },
      target: null,
      result: 'ok',
      requestId: null,
    })
  }
  t.match(auditChainCheck(store.db, configFrom({})), { status: 'warn', detail: /3 rows verified; kept 400 days/ })
  const signing = configFrom({ audit: { signing_key_file: join(dir, 'audit.key') } })
  t.match(auditChainCheck(store.db, signing), { status: 'pass' })
  store.db.exec('DROP TRIGGER audit_log_no_update')
  store.db.exec(`UPDATE audit_log SET target = 'user:mallory' WHERE seq = 2`)
  t.match(auditChainCheck(store.db, signing), { status: 'fail', detail: /broken at row 2/ })
})

t.test("the build's dependency audit, as rpm/build.sh records it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-compliance-audit-'))
  const file = join(dir, 'dependency-audit.json')
  const plant = (fields: Record<string, unknown>) =>
    writeFileSync(
      file,
      JSON.stringify({
        checked_at: new Date(now - day).toISOString(),
        findings: [],
        accepted: [],
        reason: null,
        ...fields,
      }),
    )
  t.match(dependencyAuditCheck(now, file), { status: 'warn', detail: /No dependency audit/ })
  plant({ status: 'clean' })
  t.match(dependencyAuditCheck(now, file), { status: 'pass' })
  t.match(dependencyAuditCheck(now + 40 * day, file), { status: 'warn', action: /audit again/ })
  plant({ status: 'not_run', reason: 'HTTP 405' })
  t.match(dependencyAuditCheck(now, file), { status: 'warn', detail: /could not run \(HTTP 405\)/ })
  plant({ status: 'vulnerable', findings: [{ package: 'x', severity: 'high', url: 'https://example/1' }] })
  t.match(dependencyAuditCheck(now, file), { status: 'fail', items: ['x (high): https://example/1'] })
  writeFileSync(file, '{not json')
  t.match(dependencyAuditCheck(now, file), { status: 'warn' })
})

t.test('over the CLI and the admin API', async (t) => {
  const backups = mkdtempSync(join(tmpdir(), 'parallama-backups-'))
  const rig = await startRig(t, { database: { backup_dir: backups } })
  const db = rig.config.database.path
  const config = join(backups, 'config.yaml')
  writeFileSync(config, `database:\n  path: ${db}\n  backup_dir: ${backups}\n`)

  const failing = await runCli(['report', 'compliance', '--config', config, '--format', 'json'])
  t.equal(failing.code, 1, 'a failed check: exit 1')
  t.match(
    JSON.parse(failing.stdout).checks.find((c: { id: string }) => c.id === 'backups'),
    { status: 'fail' },
  )

  mkdirSync(backups, { recursive: true })
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  writeFileSync(join(backups, `parallama-${stamp}.db`), '')
  const passing = await runCli(['report', 'compliance', '--config', config])
  t.equal(passing.code, 0, passing.stderr)
  t.match(passing.stdout, /^# Parallama compliance report/)
  t.match(passing.stdout, /\| PASS \| Scheduled backups \|/)
  t.match(passing.stdout, /\| admin \| admin \| yes \|/)

  const bad = await runCli(['report', 'compliance', '--config', config, '--unused-days', '0'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--unused-days: expected a whole number of days/)

  const answer = await adminCall(rig, 'GET', '/compliance?unused_days=30')
  t.equal(answer.status, 200)
  expectMatches('compliance', 200, answer.body)
  t.match(
    answer.body.checks.find((c: { id: string }) => c.id === 'keys_unused'),
    { title: /30 days/ },
  )
  const refused = await adminCall(rig, 'GET', '/compliance?key_age_days=1e3')
  t.match(refused, { status: 400, body: { code: 'invalid_request', detail: /key_age_days/ } })
  expectMatches('compliance', 400, refused.body)
  const user = rig.addKey({ role: 'user' })
  t.match(await adminCall(rig, 'GET', '/compliance', { headers: user.headers }), { status: 403 })
})
