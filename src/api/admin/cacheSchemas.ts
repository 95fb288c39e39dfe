// What /admin/v1/cache takes and answers (handlers: cache.ts; the service: src/admin/cache.ts; docs/cache.md).
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { exactObject, problem } from './commonSchemas.js'

const count: JsonSchema = { type: 'integer', minimum: 0 }

const tierStats: JsonSchema = exactObject({ entries: count, bytes: count, expired: count })

const memoryStats: JsonSchema = exactObject({
  hits: count,
  misses: count,
  stores: count,
  bypasses: { type: 'object', additionalProperties: count, description: 'by reason' },
  evictions: count,
  entries: count,
  bytes: count,
})

export const cacheStatsDoc: RouteDoc = {
  summary: "The response cache's numbers: this server's memory tier (since it started) and the persistent tier",
  responses: {
    200: exactObject({
      enabled: { type: 'boolean' },
      memory: { oneOf: [memoryStats, { type: 'null' }] },
      persistent: { oneOf: [tierStats, { type: 'null' }] },
    }),
    401: problem,
    403: problem,
  },
}

export const cachePurgeDoc: RouteDoc = {
  summary: 'Purge cached replies: all, or of a model (?model=), of a user (?user=), or both; audited',
  query: { type: 'object', properties: { model: { type: 'string' }, user: { type: 'string' } } },
  responses: {
    200: exactObject({
      model: { type: ['string', 'null'] },
      user: { type: ['string', 'null'] },
      persistent: count,
      memory: { type: ['integer', 'null'], minimum: 0 },
    }),
    400: problem,
    401: problem,
    403: problem,
    404: problem,
  },
}
