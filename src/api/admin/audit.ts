// /admin/v1/audit: the audit log, newest first, keyset-paged by seq (view_audit); /audit/verify walks its chain.
// Both reads are recorded in the log they read (src/admin/audit.ts).
import { auditView, readAudit, verifyAudit } from '../../admin/audit.js'
import { parseInstant } from '../../config/schemaTypes.js'
import { GatewayError } from '../../errors.js'
import type { AdminRoutesContext } from '../admin.js'
import type { JsonHandler } from '../jsonRoute.js'
import { pageRequest, writeCursor } from '../pagination.js'
import { onlyFields, queryFields, stringOf } from './bodyFields.js'

export function auditHandlers({ store }: AdminRoutesContext): Record<string, JsonHandler> {
  return {
    audit_list: ({ request, trail }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['limit', 'cursor', 'since', 'action', 'user'])
      const paging = pageRequest(new URLSearchParams(request.query), 'audit')
      if (paging instanceof GatewayError) return paging
      const beforeSeq = paging.after === undefined ? undefined : Number(paging.after)
      if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq)) {
        return new GatewayError(
          'invalid_request',
          '"cursor" is not one this list gave out: pass next_cursor as it came',
        )
      }
      const sinceText = stringOf(query, 'since')
      const since = sinceText === undefined ? undefined : parseInstant(sinceText)
      if (sinceText !== undefined && since === undefined) {
        return new GatewayError('invalid_request', '"since" must be a duration (7d, 12h) or a date (2026-11-01)')
      }
      const filter = { since, action: stringOf(query, 'action'), user: stringOf(query, 'user'), beforeSeq }
      // One more than the page, to know whether there is a next one.
      const rows = readAudit(store, trail, { ...filter, limit: paging.limit + 1 })
      const items = rows.slice(0, paging.limit)
      const next = rows.length > paging.limit ? writeCursor('audit', String(items.at(-1)!.seq)) : null
      return { status: 200, body: { items: items.map(auditView), next_cursor: next } }
    },
    audit_verify: ({ trail }) => ({ status: 200, body: verifyAudit(store, trail) }),
  }
}
