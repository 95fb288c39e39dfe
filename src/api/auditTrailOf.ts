// The audit trail of one JSON API call: who (the credential's user and key; a login session is the dashboard's), from
// where (the client address) and the request id, with the gateway's recorder. Made per call and passed down as an
// argument, so no identity outlives its request.
import type { AuditTrail } from '../admin/auditTrail.js'
import { recordFailure } from '../admin/auditTrail.js'
import type { Principal } from '../auth/principal.js'
import type { AuditRecorder } from '../events/auditEntry.js'
import type { GatewayError } from '../errors.js'
import type { RequestSnapshot } from '../http/requestSnapshot.js'

export function auditTrailOf(
  recorder: AuditRecorder,
  request: Pick<RequestSnapshot, 'requestId' | 'clientIp'>,
  principal: Principal | undefined,
): AuditTrail {
  return {
    recorder,
    requestId: request.requestId,
    actor: {
      source: principal && principal.keyId === null ? 'dashboard' : 'api',
      user: principal?.username ?? null,
      keyId: principal?.keyId ?? null,
      clientIp: request.clientIp,
    },
  }
}

/** An admin route refused for want of its permission: recorded as denied, with who asked when the credential is good. */
export function recordDenied(
  recorder: AuditRecorder,
  request: Pick<RequestSnapshot, 'requestId' | 'clientIp' | 'path'>,
  caller: Principal | GatewayError,
  route: string,
  refusal: GatewayError,
): void {
  const principal = 'userId' in caller ? caller : undefined
  recordFailure(auditTrailOf(recorder, request, principal), `admin.${route}`, `route:${request.path}`, refusal)
}
