// Schemas every admin area shares: an RFC 9457 problem, a page of a list, a time, the paging query.
import type { JsonSchema } from '../routeDoc.js'

/** An ISO 8601 time, or null for "never". */
export const time: JsonSchema = { type: ['string', 'null'], format: 'date-time' }

/** Every admin error (src/http/errorResponse.ts): the stable code is `code`. */
export const problem: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    code: { type: 'string', pattern: '^[a-z0-9_.-]+$' },
    detail: { type: 'string' },
    request_id: { type: 'string' },
  },
}

/** A page of a cursor-paginated list (src/api/pagination.ts). */
export function page(item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['items', 'next_cursor'],
    additionalProperties: false,
    properties: {
      items: { type: 'array', items: item },
      next_cursor: {
        type: ['string', 'null'],
        description: 'pass as ?cursor= for the next page; null on the last page',
      },
    },
  }
}

/** `?limit=&cursor=`, plus a list's own filters. */
export function pageQuery(filters: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 100, description: 'items per page' },
      cursor: { type: 'string', description: 'next_cursor of the previous page' },
      ...filters,
    },
  }
}

/** An object schema whose every property is required and nothing else is allowed (what the views answer). */
/** A list of client address ranges (CIDR), or null for every address. */
export const allowIp: JsonSchema = {
  type: ['array', 'null'],
  items: { type: 'string' },
  maxItems: 100,
  description: 'client address ranges (CIDR, or single addresses) the credential may be used from; null: every address',
}

export function exactObject(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return {
    type: 'object',
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
    additionalProperties: false,
    properties,
  }
}
