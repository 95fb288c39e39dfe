// The documented shape of GET /admin/v1/compliance (src/admin/compliance.ts builds it).
import type { RouteDoc } from '../routeDoc.js'
import { exactObject, problem, time } from './commonSchemas.js'

const status = { enum: ['pass', 'warn', 'fail'] }
const days = (what: string, fallback: number) => ({
  type: 'integer',
  minimum: 1,
  maximum: 36_500,
  default: fallback,
  description: what,
})

const checkSchema = exactObject({
  id: { type: 'string', description: 'stable id of the check, e.g. keys_without_expiry' },
  title: { type: 'string' },
  status,
  detail: { type: 'string', description: 'what was found' },
  action: { type: ['string', 'null'], description: 'what to do (null when it passes)' },
  items: { type: 'array', items: { type: 'string' }, maxItems: 50, description: 'what the finding is about' },
})

const userSchema = exactObject({
  username: { type: 'string' },
  role: { type: 'string' },
  active: { type: 'boolean' },
  password: { type: 'boolean' },
  sso: { type: 'boolean' },
  keys: { type: 'integer', minimum: 0, description: 'live API keys' },
  last_login: time,
})

export const complianceDoc: RouteDoc = {
  summary: 'The compliance report: users and roles, key hygiene, retention, backups, exposure — pass, warn or fail',
  query: {
    type: 'object',
    properties: {
      unused_days: days('report keys unused for this many days', 90),
      key_age_days: days('report keys older than this many days', 365),
    },
  },
  responses: {
    200: exactObject({
      generated: { type: 'string', format: 'date-time' },
      summary: exactObject({
        pass: { type: 'integer', minimum: 0 },
        warn: { type: 'integer', minimum: 0 },
        fail: { type: 'integer', minimum: 0 },
      }),
      checks: { type: 'array', items: checkSchema },
      users: { type: 'array', items: userSchema },
    }),
    400: problem,
    401: problem,
    403: problem,
  },
}
