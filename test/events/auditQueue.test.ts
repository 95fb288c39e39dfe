// The server's audit recorder never waits for a write lock another process holds (busy_timeout is an hour here: a
// wait would hang the test, no timing is measured), keeps the rows in order meanwhile and writes them once the lock is
// free; a row that belongs to a change is written inside the change's transaction; shutdown writes what is left.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import type { AuditEntry } from '../../src/events/auditEntry.js'
import { AuditLog } from '../../src/events/auditLog.js'
import { AuditQueue } from '../../src/events/auditQueue.js'
import { verifyAuditLog } from '../../src/events/auditVerify.js'
import { createLogger } from '../../src/logger.js'
import { openDatabase } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrations.js'

const entry = (action: string): AuditEntry => ({
  action,
  actor: { source: 'api', user: 'alice', keyId: null, clientIp: '127.0.0.1' },
  target: null,
  result: 'ok',
  requestId: null,
})

function setUp() {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-queue-')), 'p.db')
  const db = openDatabase(path, { busyTimeoutMs: 3_600_000 })
  migrate(db)
  const log = new AuditLog(db)
  const queue = new AuditQueue(
    db,
    log,
    createLogger('error', () => {}),
  )
  return { path, db, log, queue }
}

const actions = (log: AuditLog) =>
  log
    .list({ limit: 100 })
    .map((row) => row.action)
    .reverse()

t.test('a locked database delays the rows, never the caller; they are written in order once it is free', async (t) => {
  const { path, db, log, queue } = setUp()
  const other = new Database(path)
  other.exec('BEGIN IMMEDIATE')
  queue.record(entry('login.failed'))
  queue.record(entry('login'))
  t.equal(queue.pending, 2, 'both wait in memory')
  other.exec('COMMIT')
  other.close()
  while (queue.pending > 0) await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(actions(log), ['login.failed', 'login'])
  t.match(verifyAuditLog(db), { ok: true, rows: 2 })
  db.close()
})

t.test("a change's row is written in the change's own transaction", async (t) => {
  const { db, log, queue } = setUp()
  t.throws(() =>
    db.transaction(() => {
      queue.record(entry('user.update'))
      throw new Error('the change fails')
    })(),
  )
  t.same(actions(log), [], 'rolled back with the change')
  db.transaction(() => queue.record(entry('user.update')))()
  t.same(actions(log), ['user.update'])
  db.close()
})

t.test('shutdown writes what waited, waiting for the lock itself', async (t) => {
  const { path, db, log, queue } = setUp()
  const other = new Database(path)
  other.exec('BEGIN IMMEDIATE')
  queue.record(entry('logout'))
  other.exec('COMMIT')
  other.close()
  queue.flush(true)
  t.equal(queue.pending, 0)
  t.same(actions(log), ['logout'])
  db.close()
})
