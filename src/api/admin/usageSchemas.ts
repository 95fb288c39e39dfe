// What /admin/v1/usage, /usage/requests and /queue take and answer (handlers: src/api/admin.ts).
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { problem } from './commonSchemas.js'

const window: Record<string, JsonSchema> = {
  since: { type: 'string', description: 'a duration back from now (7d, 24h) or an ISO date; default 7d' },
  until: { type: 'string', description: 'a duration back from now or an ISO date; default now' },
  user: { type: 'string', description: "a username (another user's needs view_usage)" },
  key: { type: 'string', description: 'an API key id' },
  model: { type: 'string' },
  api: { type: 'string', enum: ['ollama', 'openai'] },
}

const count = { type: 'integer', minimum: 0 }

const reportRow: JsonSchema = {
  type: 'object',
  required: ['group', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'],
  properties: {
    group: { type: ['string', 'null'] },
    requests: count,
    errors: count,
    prompt_tokens: count,
    completion_tokens: count,
    cost: { type: 'number' },
  },
}

const usageRow: JsonSchema = {
  type: 'object',
  required: ['request_id', 'time', 'api', 'route', 'status'],
  properties: {
    request_id: { type: 'string' },
    time: { type: 'string' },
    user: { type: ['string', 'null'] },
    key_id: { type: ['string', 'null'] },
    api: { type: 'string' },
    route: { type: 'string' },
    model: { type: ['string', 'null'] },
    backend: { type: ['string', 'null'] },
    status: { type: 'integer' },
    error_code: { type: ['string', 'null'] },
    prompt_tokens: { type: ['integer', 'null'] },
    completion_tokens: { type: ['integer', 'null'] },
    tokens: { type: ['integer', 'null'] },
    ttfb_ms: { type: ['number', 'null'] },
    duration_ms: { type: ['number', 'null'] },
    bytes_in: { type: ['integer', 'null'] },
    bytes_out: { type: ['integer', 'null'] },
    client_ip: { type: ['string', 'null'] },
    client_aborted: { type: ['integer', 'boolean', 'null'] },
    cost: { type: ['number', 'null'] },
    queue_ms: { type: ['number', 'null'] },
  },
}

export const usageDoc: RouteDoc = {
  summary: 'Usage totals grouped by hour, day, model, user, key or API (from the hourly rollups)',
  query: {
    type: 'object',
    properties: { ...window, by: { type: 'string', enum: ['hour', 'day', 'model', 'user', 'key', 'api'] } },
  },
  responses: {
    200: {
      type: 'object',
      required: ['by', 'rows'],
      properties: { by: { type: 'string' }, rows: { type: 'array', items: reportRow } },
    },
    400: problem,
    403: problem,
  },
}

export const usageRequestsDoc: RouteDoc = {
  summary: 'Per-request usage rows, oldest first (at most 7 days per query)',
  query: {
    type: 'object',
    properties: { ...window, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 } },
  },
  responses: {
    200: {
      type: 'object',
      required: ['rows', 'truncated'],
      properties: { rows: { type: 'array', items: usageRow }, truncated: { type: 'boolean' } },
    },
    400: problem,
    403: problem,
  },
}

const queueCounts = { waiting: count, running: count }

export const queueDoc: RouteDoc = {
  summary: "Who waits and who runs, per model (everyone's with view_usage, else the caller's own)",
  responses: {
    200: {
      type: 'object',
      required: ['models'],
      properties: {
        models: {
          type: 'array',
          items: {
            type: 'object',
            required: ['model', 'waiting', 'running', 'oldestWaitMs', 'users'],
            properties: {
              model: { type: 'string' },
              ...queueCounts,
              oldestWaitMs: { type: ['number', 'null'] },
              users: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['user', 'waiting', 'running'],
                  properties: { user: { type: 'string' }, ...queueCounts },
                },
              },
            },
          },
        },
      },
    },
  },
}
