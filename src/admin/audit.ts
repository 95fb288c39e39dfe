// The audit log as the CLI (`parallama audit ...`) and the admin API (/admin/v1/audit) read it: every read of it is
// itself recorded (audit.read, audit.verify) before the rows are handed out, with the filter asked for.
import type { AuditRow } from '../events/auditHash.js'
import { AuditLog, type AuditFilter } from '../events/auditLog.js'
import { verifyAuditLog, type CheckpointLink, type Verification } from '../events/auditVerify.js'
import { isoTime as time } from '../store/bounds.js'
import type { Store } from '../store/store.js'
import { recordOk, type AuditTrail } from './auditTrail.js'

/** A row as shown: times in ISO 8601, before/after as objects, the actor grouped. */
export function auditView(row: AuditRow) {
  return {
    seq: row.seq,
    time: time(row.time),
    action: row.action,
    actor: {
      source: row.source,
      user: row.actor_user,
      key_id: row.key_id,
      client_ip: row.client_ip,
      os_user: row.os_user,
      host: row.host,
    },
    target: row.target,
    before: parsed(row.before),
    after: parsed(row.after),
    result: row.result,
    error: row.error,
    request_id: row.request_id,
    hash: row.hash,
  }
}

function parsed(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown)
}

/** The newest rows first, as filtered; recorded as audit.read with the filter. */
export function readAudit(store: Store, trail: AuditTrail, filter: AuditFilter): AuditRow[] {
  recordOk(trail, 'audit.read', null, filterFields(filter))
  return new AuditLog(store.db).list(filter)
}

/** Every row in the filter, oldest first, a page at a time (an export never holds the whole log). */
export function* exportAudit(store: Store, trail: AuditTrail, filter: Omit<AuditFilter, 'limit' | 'beforeSeq'>) {
  recordOk(trail, 'audit.export', null, filterFields(filter))
  const log = new AuditLog(store.db)
  const conditions = { ...filter, afterSeq: 0 }
  for (;;) {
    const rows = log.listAscending({ ...conditions, limit: 1000 })
    yield* rows
    if (rows.length < 1000) return
    conditions.afterSeq = rows.at(-1)!.seq
  }
}

/** Walks the chain (and, given one, against a checkpoint already checked for its signature); recorded as audit.verify. */
export function verifyAudit(store: Store, trail: AuditTrail, checkpoint?: CheckpointLink): Verification {
  const result = verifyAuditLog(store.db, checkpoint)
  recordOk(trail, 'audit.verify', null, {
    ok: result.ok,
    checkpoint_seq: checkpoint?.seq ?? null,
    ...(result.ok ? { rows: result.rows } : { broken_seq: result.seq }),
  })
  return result
}

function filterFields(filter: Partial<AuditFilter>): Record<string, unknown> {
  return {
    since: filter.since === undefined ? undefined : time(filter.since),
    action: filter.action,
    user: filter.user,
    limit: filter.limit,
  }
}
