// What /admin/v1/audit takes and answers (handlers: audit.ts; views: src/admin/audit.ts; docs/security.md).
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { exactObject, page, pageQuery, problem } from './commonSchemas.js'

const nullableString: JsonSchema = { type: ['string', 'null'] }
const fields: JsonSchema = { type: ['object', 'null'], description: 'non-secret fields (never a secret or hash)' }

export const auditRowView: JsonSchema = exactObject({
  seq: { type: 'integer', minimum: 1 },
  time: { type: 'string', format: 'date-time' },
  action: { type: 'string', description: 'login, user.create, key.revoke, limit.set, audit.read, ...' },
  actor: exactObject({
    source: { type: 'string', enum: ['cli', 'api', 'dashboard', 'sso', 'system'] },
    user: nullableString,
    key_id: nullableString,
    client_ip: nullableString,
    os_user: nullableString,
    host: nullableString,
  }),
  target: { ...nullableString, description: 'kind:name (user:alice, key:k_12ab, limit:user/alice, webhook:wh_1)' },
  before: fields,
  after: fields,
  result: { type: 'string', enum: ['ok', 'denied', 'failed'] },
  error: { ...nullableString, description: 'the error code when not ok' },
  request_id: nullableString,
  hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
})

export const auditListDoc: RouteDoc = {
  summary: 'The audit log, newest first (the read is itself recorded)',
  query: pageQuery({
    since: { type: 'string', description: 'rows from: a duration back from now (7d, 12h) or a date (2026-11-01)' },
    action: { type: 'string', description: 'only this action' },
    user: { type: 'string', description: 'only rows whose acting user is this one' },
  }),
  responses: { 200: page(auditRowView), 400: problem },
}

export const auditVerifyDoc: RouteDoc = {
  summary: 'Walk the hash chain and name the first broken row (checkpoints: `parallama audit verify --checkpoint`)',
  responses: {
    200: {
      oneOf: [
        exactObject({
          ok: { const: true },
          rows: { type: 'integer', minimum: 0 },
          first: { type: ['integer', 'null'] },
          last: exactObject({ seq: { type: 'integer' }, hash: { type: 'string' } }),
          anchor: {
            oneOf: [
              { type: 'null' },
              exactObject({ seq: { type: 'integer' }, hash: { type: 'string' }, time: { type: 'integer' } }),
            ],
          },
        }),
        exactObject({
          ok: { const: false },
          rows: { type: 'integer', minimum: 0 },
          seq: { type: 'integer', description: 'the first row that breaks the chain' },
          problem: { type: 'string' },
        }),
      ],
    },
  },
}
