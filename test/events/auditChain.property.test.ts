// For any sequence of audit entries and one tampering of the stored rows, verify fails exactly at the first row the
// tampering broke; with no tampering it always passes. Cutting off the newest rows and appending a well-chained row at
// the end are invisible to the chain alone (the signed checkpoint covers the first: auditTamper.test.ts).
import fc from 'fast-check'
import t from 'tap'
import type { AuditEntry } from '../../src/events/auditEntry.js'
import { rowHash, type AuditRow } from '../../src/events/auditHash.js'
import { AuditLog } from '../../src/events/auditLog.js'
import { verifyAuditLog } from '../../src/events/auditVerify.js'
import { openDatabase, type Db } from '../../src/store/database.js'
import { migrate } from '../../src/store/migrations.js'

const text = fc.option(fc.string({ maxLength: 12 }), { nil: null })
const entry: fc.Arbitrary<AuditEntry> = fc.record({
  action: fc.constantFrom('login', 'user.create', 'key.revoke', 'audit.read'),
  actor: fc.record({
    source: fc.constantFrom('cli', 'api', 'dashboard', 'sso', 'system'),
    user: text,
    keyId: text,
    clientIp: text,
    osUser: text,
    host: text,
  }),
  target: text,
  before: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })), { nil: null }),
  after: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })), { nil: null }),
  result: fc.constantFrom('ok', 'denied', 'failed'),
  error: text,
  requestId: text,
})

type Tampering =
  | { kind: 'edit'; at: number; field: 'action' | 'target' | 'time' | 'after' }
  | { kind: 'delete'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insert'; at: number }
  | { kind: 'none' }

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const tampering = fc.oneof(
  fc.record({
    kind: fc.constant('edit' as const),
    at: fraction,
    field: fc.constantFrom('action', 'target', 'time', 'after'),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fraction }),
  fc.record({ kind: fc.constant('swap' as const), at: fraction, with: fraction }),
  fc.record({ kind: fc.constant('insert' as const), at: fraction }),
  fc.constant({ kind: 'none' as const }),
)

function logOf(entries: AuditEntry[]): Db {
  const db = openDatabase(':memory:', { busyTimeoutMs: 100 })
  migrate(db)
  const log = new AuditLog(db)
  for (const one of entries) log.record(one)
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete')
  return db
}

const rowAt = (db: Db, seq: number) => db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(seq) as AuditRow

/** Tampers as told (positions are fractions of the row count); returns the seq verify must name, or null for none. */
function tamper(db: Db, n: number, change: Tampering): number | null {
  if (change.kind === 'none') return null
  const at = 1 + Math.floor(change.at * n)
  switch (change.kind) {
    case 'edit': {
      const row = rowAt(db, at)
      const value = change.field === 'time' ? row.time + 1 : `${String(row[change.field])}x`
      db.prepare(`UPDATE audit_log SET ${change.field} = ? WHERE seq = ?`).run(value, at)
      return at
    }
    case 'delete':
      db.prepare('DELETE FROM audit_log WHERE seq = ?').run(at)
      return at === n ? null : at + 1
    case 'swap': {
      const other = 1 + Math.floor(change.with * n)
      if (other === at) return null
      db.prepare('UPDATE audit_log SET seq = -1 WHERE seq = ?').run(at)
      db.prepare('UPDATE audit_log SET seq = ? WHERE seq = ?').run(at, other)
      db.prepare('UPDATE audit_log SET seq = ? WHERE seq = -1').run(other)
      return Math.min(at, other)
    }
    case 'insert': {
      const position = 1 + Math.floor(change.at * (n + 1))
      const prev = position === 1 ? '0'.repeat(64) : rowAt(db, position - 1).hash
      for (let seq = n; seq >= position; seq--)
        db.prepare('UPDATE audit_log SET seq = ? WHERE seq = ?').run(seq + 1, seq)
      const forged = {
        ...rowAt(db, position === 1 ? 2 : position - 1),
        seq: position,
        action: 'forged',
        prev_hash: prev,
      }
      db.prepare(
        `INSERT INTO audit_log VALUES (@seq, @time, @action, @source, @actor_user, @key_id, @client_ip, @os_user,
          @host, @target, @before, @after, @result, @error, @request_id, @prev_hash, @hash)`,
      ).run({ ...forged, hash: rowHash(forged) })
      return position === n + 1 ? null : position + 1
    }
  }
}

t.test('verify fails exactly at the first tampered row, and passes an untampered log', async (t) => {
  fc.assert(
    fc.property(fc.array(entry, { minLength: 2, maxLength: 12 }), tampering, (entries, change) => {
      const db = logOf(entries)
      try {
        const broken = tamper(db, entries.length, change)
        const result = verifyAuditLog(db)
        if (broken === null) return result.ok
        return !result.ok && result.seq === broken
      } finally {
        db.close()
      }
    }),
    { numRuns: 300 },
  )
  t.pass('held')
})
