// An audit trail for tests that call the service layer (src/admin/) directly, as the system and recording nothing:
// what they check is the change itself, not its audit row (test/events/ checks those).
import type { AuditTrail } from '../../src/admin/auditTrail.js'
import { notAudited } from '../../src/events/auditEntry.js'

export const unrecordedTrail: AuditTrail = {
  recorder: notAudited,
  actor: { source: 'system', user: null, keyId: null, clientIp: null },
  requestId: null,
}
