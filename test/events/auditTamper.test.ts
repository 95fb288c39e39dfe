// The audit chain against each kind of tampering: an edited field, an inserted row, a deleted middle row, two rows
// swapped, the newest rows cut off (caught against a signed checkpoint), a forged checkpoint. Tampering goes around the
// append-only triggers the way someone with the file would (dropping them), and verify names the first broken row.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { AuditEntry } from '../../src/events/auditEntry.js'
import { rowHash } from '../../src/events/auditHash.js'
import { AuditLog, pruneAudit } from '../../src/events/auditLog.js'
import { createLogger } from '../../src/logger.js'
import {
  generateSigningKey,
  loadPublicKey,
  loadSigningKey,
  readCheckpoint,
  signCheckpoint,
} from '../../src/events/auditCheckpoint.js'
import { verifyAuditLog } from '../../src/events/auditVerify.js'
import { openDatabase, type Db } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrations.js'

function entry(action: string, user = 'alice'): AuditEntry {
  return {
    action,
    actor: { source: 'cli', user, keyId: null, clientIp: null, osUser: 'root', host: 'box' },
    target: `user:${user}`,
    before: null,
    after: { role: 'user' },
    result: 'ok',
    requestId: null,
  }
}

function logWithRows(count: number): { db: Db; log: AuditLog } {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'audit-')), 'p.db'), { busyTimeoutMs: 1000 })
  migrate(db)
  const log = new AuditLog(db)
  for (let i = 1; i <= count; i++) log.record(entry(`user.create`, `u${i}`))
  return { db, log }
}

/** What an attacker with the file does first: the triggers are only a guard against mistakes. */
function dropGuards(db: Db): void {
  for (const name of ['audit_log_no_update', 'audit_log_no_delete']) db.exec(`DROP TRIGGER ${name}`)
}

t.test('an untampered log verifies, and plain SQL cannot change or delete its rows', async (t) => {
  const { db } = logWithRows(5)
  t.match(verifyAuditLog(db), { ok: true, rows: 5, last: { seq: 5 } })
  t.throws(() => db.exec(`UPDATE audit_log SET action = 'x' WHERE seq = 2`), /append-only/)
  t.throws(() => db.exec('DELETE FROM audit_log WHERE seq = 5'), /append-only/)
  t.throws(() => db.exec('DELETE FROM audit_log'), /append-only/)
  t.match(verifyAuditLog(db), { ok: true, rows: 5 })
})

t.test('an edited field is named by its row', async (t) => {
  const { db } = logWithRows(5)
  dropGuards(db)
  db.exec(`UPDATE audit_log SET actor_user = 'mallory' WHERE seq = 3`)
  t.match(verifyAuditLog(db), { ok: false, seq: 3, problem: /edited/ })
})

t.test('an edited row whose hash was recomputed breaks the next row', async (t) => {
  const { db } = logWithRows(5)
  dropGuards(db)
  const row = db.prepare('SELECT * FROM audit_log WHERE seq = 3').get() as Parameters<typeof rowHash>[0]
  const hash = rowHash({ ...row, target: 'user:nobody' })
  db.prepare(`UPDATE audit_log SET target = 'user:nobody', hash = ? WHERE seq = 3`).run(hash)
  t.match(verifyAuditLog(db), { ok: false, seq: 4, problem: /prev_hash/ })
})

t.test('an inserted row is named (the rows after it renumbered or not)', async (t) => {
  const { db } = logWithRows(5)
  dropGuards(db)
  db.exec('UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3')
  db.exec('UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103')
  const row = db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as Record<string, unknown>
  const forged = { ...row, seq: 3, action: 'user.delete', prev_hash: row.hash }
  db.prepare(
    `INSERT INTO audit_log VALUES (@seq, @time, @action, @source, @actor_user, @key_id, @client_ip, @os_user, @host,
      @target, @before, @after, @result, @error, @request_id, @prev_hash, @hash)`,
  ).run({ ...forged, hash: rowHash(forged as Parameters<typeof rowHash>[0]) })
  t.match(verifyAuditLog(db), { ok: false, seq: 4 }, 'the forged row chains, the moved row after it does not')
})

t.test('a deleted middle row is named by the row after the gap', async (t) => {
  const { db } = logWithRows(5)
  dropGuards(db)
  db.exec('DELETE FROM audit_log WHERE seq = 3')
  t.match(verifyAuditLog(db), { ok: false, seq: 4, problem: /row 3 missing/ })
})

t.test('two rows swapped are named by the first of them', async (t) => {
  const { db } = logWithRows(5)
  dropGuards(db)
  db.exec('UPDATE audit_log SET seq = -1 WHERE seq = 2')
  db.exec('UPDATE audit_log SET seq = 2 WHERE seq = 4')
  db.exec('UPDATE audit_log SET seq = 4 WHERE seq = -1')
  t.match(verifyAuditLog(db), { ok: false, seq: 2 })
})

t.test('the newest rows cut off pass alone, and fail against a signed checkpoint', async (t) => {
  const { db, log } = logWithRows(5)
  const folder = mkdtempSync(join(tmpdir(), 'audit-key-'))
  const keyFile = join(folder, 'audit.key')
  const publicFile = join(folder, 'audit.pub')
  writeFileSync(publicFile, generateSigningKey(keyFile))
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the private key is 0600')
  const checkpoint = signCheckpoint(log.lastLink(), loadSigningKey(keyFile))
  const read = readCheckpoint(JSON.stringify(checkpoint), loadPublicKey(publicFile), 'cp.json')
  t.match(verifyAuditLog(db, read), { ok: true })
  log.record(entry('user.delete'))
  t.match(verifyAuditLog(db, read), { ok: true }, 'rows after the checkpoint are fine')
  dropGuards(db)
  db.exec('DELETE FROM audit_log WHERE seq >= 4')
  t.match(verifyAuditLog(db), { ok: true }, 'the chain alone cannot see a truncation')
  t.match(verifyAuditLog(db, read), { ok: false, seq: 5, problem: /ends at row 3/ })
})

t.test('a forged or altered checkpoint is refused', async (t) => {
  const { log } = logWithRows(2)
  const folder = mkdtempSync(join(tmpdir(), 'audit-key-'))
  const publicKey = generateSigningKey(join(folder, 'a.key'))
  writeFileSync(join(folder, 'a.pub'), publicKey)
  generateSigningKey(join(folder, 'b.key'))
  const forged = signCheckpoint(log.lastLink(), loadSigningKey(join(folder, 'b.key')))
  const key = loadPublicKey(join(folder, 'a.pub'))
  t.throws(() => readCheckpoint(JSON.stringify(forged), key, 'cp'), /forged/)
  const good = signCheckpoint(log.lastLink(), loadSigningKey(join(folder, 'a.key')))
  t.throws(() => readCheckpoint(JSON.stringify({ ...good, seq: 1 }), key, 'cp'), /signature does not match/)
  t.throws(() => readCheckpoint('nope', key, 'cp'), /not JSON/)
  t.throws(() => generateSigningKey(join(folder, 'a.key')), /cannot write/, 'an existing key is never overwritten')
  writeFileSync(join(folder, 'open.key'), '', { mode: 0o644 })
  t.throws(() => loadSigningKey(join(folder, 'open.key')), /read by others/)
})

t.test('the retention prune keeps an anchor the chain verifies from; nothing else deletes', async (t) => {
  let now = 1000
  const { db } = logWithRows(0)
  const log = new AuditLog(db, () => now)
  for (let i = 0; i < 6; i++) {
    log.record(entry('login'))
    now += 1000
  }
  t.equal(log.prune(3500), 3, 'rows before the time go')
  t.match(verifyAuditLog(db), { ok: true, rows: 3, first: 4, anchor: { seq: 3 } })
  t.throws(() => db.exec('DELETE FROM audit_log WHERE seq = 6'), /append-only/)
  t.throws(() => db.exec('UPDATE audit_anchor SET seq = 5'), /moves only/)
  t.equal(log.prune(100_000), 3, 'everything may go; the chain goes on from the anchor')
  log.record(entry('logout'))
  t.match(verifyAuditLog(db), { ok: true, rows: 1, first: 7 })
  log.record(entry('login'))
  dropGuards(db)
  db.exec(`INSERT INTO audit_prune VALUES (1)`)
  db.exec('DELETE FROM audit_log WHERE seq = 7')
  db.exec('UPDATE audit_anchor SET seq = 7')
  t.match(verifyAuditLog(db), { ok: false, seq: 8, problem: /prev_hash/ }, 'a row hidden by moving the anchor')
})

t.test('two connections writing in turn keep one chain', async (t) => {
  const { db } = logWithRows(0)
  const other = openDatabase(db.name, { busyTimeoutMs: 1000 })
  t.teardown(() => other.close())
  const logs = [new AuditLog(db), new AuditLog(other)]
  for (let i = 0; i < 20; i++) logs[i % 2]!.record(entry('login', `u${i}`))
  t.match(verifyAuditLog(db), { ok: true, rows: 20 })
})

t.test('the hourly prune keeps audit.retention, records itself, and keeps everything at 0', async (t) => {
  let now = 0
  const { db } = logWithRows(0)
  const log = new AuditLog(db, () => now)
  for (let i = 0; i < 4; i++) {
    log.record(entry('login'))
    now += 86_400_000
  }
  const lines: string[] = []
  const logger = createLogger('info', (line) => lines.push(line))
  t.equal(pruneAudit(log, 0, now, logger), 0, '0 keeps every row')
  t.equal(pruneAudit(log, 2 * 86_400_000, now, logger), 2, 'rows older than two days go')
  t.match(log.list({ limit: 1 }), [{ action: 'audit.prune', after: '{"rows":2,"anchor_seq":2}', source: 'system' }])
  t.match(verifyAuditLog(db), { ok: true, first: 3, anchor: { seq: 2 } })
  t.match(lines.join('\n'), /pruned old audit rows/)
})
