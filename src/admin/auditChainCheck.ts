// The compliance report's audit check: the hash chain verified now (an edited, inserted, deleted or reordered row
// fails it, naming the row), against a signed checkpoint when one is given (then truncated newest rows fail too).
import type { Config } from '../config/schema.js'
import type { Checkpoint } from '../events/auditCheckpoint.js'
import { verifyAuditLog } from '../events/auditVerify.js'
import type { Db } from '../store/database.js'
import type { ComplianceCheck } from './compliance.js'

const day = 86_400_000

export function auditChainCheck(db: Db, config: Config, checkpoint?: Checkpoint): ComplianceCheck {
  const base = { id: 'audit_chain', title: 'Audit log', items: [] as string[] }
  const result = verifyAuditLog(db, checkpoint)
  if (!result.ok) {
    return {
      ...base,
      status: 'fail',
      detail: `The audit chain is broken at row ${result.seq}: ${result.problem}.`,
      action:
        'Treat the database as tampered with: compare with a backup and an off-box checkpoint (parallama audit verify).',
    }
  }
  const { retention, signing_key_file: signingKey } = config.audit
  const kept = retention === 0 ? 'kept forever' : `kept ${Math.round(retention / day)} days`
  // A checkpoint older than the anchor signed a row that is gone: nothing left was compared with it, and an anchor is
  // what a prune writes, so a forger who wrote one past the checkpoint's row would pass if this said "verified".
  if (checkpoint && result.anchor !== null && checkpoint.seq < result.anchor.seq) {
    return {
      ...base,
      status: 'warn',
      detail: `${result.rows} rows verified, but the checkpoint of ${checkpoint.time} (row ${checkpoint.seq}) is older than the retention anchor (row ${result.anchor.seq}): it vouches for none of them.`,
      action:
        'Pass a checkpoint newer than the last prune (parallama audit checkpoint --out FILE, e.g. daily from cron).',
    }
  }
  if (checkpoint) {
    return {
      ...base,
      status: 'pass',
      detail: `${result.rows} rows verified, up to and including the checkpoint of ${checkpoint.time} (row ${checkpoint.seq}); ${kept}.`,
      action: null,
    }
  }
  // Without a checkpoint kept off the box, whoever can write the file can drop the newest rows unseen.
  return {
    ...base,
    status: signingKey === '' ? 'warn' : 'pass',
    detail: `${result.rows} rows verified; ${kept}. No checkpoint was compared${signingKey === '' ? ' and none are signed (audit.signing_key_file is empty)' : ''}.`,
    action:
      'Write signed checkpoints off the box (parallama audit checkpoint --out FILE, e.g. daily from cron) and pass the newest to this report (--checkpoint, --public-key).',
  }
}
