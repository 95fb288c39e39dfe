// Walks the audit chain from its start (the genesis, or the anchor a prune left) and names the first row that breaks
// it: a seq out of order or missing (a row deleted, inserted or moved), a prev_hash that is not the row before's hash
// (rows reordered or replaced), a hash that is not its own fields' (a row edited). A signed checkpoint adds the one
// thing the chain alone cannot show: that its newest rows were not cut off.
import type { Db } from '../store/database.js'
import { genesisHash, rowHash, type AuditRow } from './auditHash.js'
import type { AuditAnchor } from './auditLog.js'

export interface CheckpointLink {
  seq: number
  hash: string
}

export type Verification =
  | { ok: true; rows: number; first: number | null; last: { seq: number; hash: string }; anchor: AuditAnchor | null }
  | { ok: false; rows: number; seq: number; problem: string }

export function verifyAuditLog(db: Db, checkpoint?: CheckpointLink): Verification {
  const anchor = (db.prepare('SELECT seq, hash, time FROM audit_anchor WHERE id = 1').get() as AuditAnchor) ?? null
  let expected = anchor ? { seq: anchor.seq + 1, prev: anchor.hash } : { seq: 1, prev: genesisHash }
  let rows = 0
  let first: number | null = null
  let checkpointSeen = false
  for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditRow>) {
    const problem = rowProblem(row, expected.seq, expected.prev)
    if (problem) return { ok: false, rows, seq: row.seq, problem }
    if (checkpoint && row.seq === checkpoint.seq) {
      if (row.hash !== checkpoint.hash) {
        return { ok: false, rows, seq: row.seq, problem: 'its hash is not the one the checkpoint signed' }
      }
      checkpointSeen = true
    }
    first ??= row.seq
    rows++
    expected = { seq: row.seq + 1, prev: row.hash }
  }
  const last = { seq: expected.seq - 1, hash: expected.prev }
  if (checkpoint && !checkpointSeen) {
    const missing = checkpointGap(checkpoint, last, anchor)
    if (missing) return { ok: false, rows, seq: missing.seq, problem: missing.problem }
  }
  return { ok: true, rows, first, last, anchor }
}

function rowProblem(row: AuditRow, seq: number, prev: string): string | undefined {
  if (row.seq !== seq) {
    return row.seq > seq
      ? `row ${seq}${seq === row.seq - 1 ? '' : `-${row.seq - 1}`} missing before it (deleted)`
      : `its seq is out of order (expected ${seq})`
  }
  if (row.prev_hash !== prev)
    return 'its prev_hash is not the hash of the row before it (rows inserted, deleted or reordered)'
  if (rowHash(row) !== row.hash) return 'its fields do not match its hash (the row was edited)'
  return undefined
}

/** A checkpoint whose row was not met: cut off (newer than the last row), or pruned (fine if the anchor agrees). */
function checkpointGap(
  checkpoint: CheckpointLink,
  last: { seq: number; hash: string },
  anchor: AuditAnchor | null,
): { seq: number; problem: string } | undefined {
  if (checkpoint.seq > last.seq) {
    return {
      seq: checkpoint.seq,
      problem: `the checkpoint signed row ${checkpoint.seq}, but the log ends at row ${last.seq} (newest rows removed)`,
    }
  }
  if (anchor && checkpoint.seq === anchor.seq && checkpoint.hash !== anchor.hash) {
    return { seq: checkpoint.seq, problem: 'the prune anchor does not carry the hash the checkpoint signed' }
  }
  // Older than the anchor: pruned by retention, nothing left to compare.
  return undefined
}
