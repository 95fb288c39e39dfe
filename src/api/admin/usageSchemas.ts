// The documented shapes (JSON Schema 2020-12, as OpenAPI 3.1 uses) of the usage views: /overview, /usage and
// /usage/requests — their query parameters and their answers. The route table's `doc` (CONTRACT.md) refers to these;
// the e2e tests check real answers against them.

import { problem } from './commonSchemas.js'

type JsonSchema = Record<string, unknown>

const count = { type: 'integer', minimum: 0 }
const instant = {
  type: 'string',
  description: 'a duration back from now (7d, 12h, 30m) or a date/time (2026-11-01, 2026-11-01T12:00:00Z)',
}
const window = {
  since: instant,
  until: { ...instant, description: `${instant.description}; exclusive, default now` },
  user: { type: 'string', description: "a username: with view_usage anyone's, else only your own" },
}

const seriesPoint: JsonSchema = {
  type: 'object',
  required: ['time', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'latency_p50_ms', 'latency_p95_ms'],
  properties: {
    time: { type: 'string', format: 'date-time', description: 'start of the step' },
    requests: count,
    errors: { ...count, description: 'requests answered 400 or above' },
    prompt_tokens: count,
    completion_tokens: count,
    latency_p50_ms: {
      type: ['number', 'null'],
      description: 'median duration of the requests that reached a backend (null: none did)',
    },
    latency_p95_ms: { type: ['number', 'null'] },
  },
}

export const overviewDoc = {
  summary: 'Requests, errors, tokens and latency over time; what runs and waits now; backend health',
  query: {
    type: 'object',
    properties: {
      ...window,
      since: { ...instant, description: `${instant.description}; default 24h (step=minute: at most 24h back)` },
      step: { enum: ['hour', 'minute'], default: 'hour' },
    },
  },
  responses: {
    200: {
      type: 'object',
      required: ['step', 'series', 'now'],
      properties: {
        step: { enum: ['hour', 'minute'] },
        series: { type: 'array', items: seriesPoint, description: 'every step of the window, oldest first' },
        now: {
          type: 'object',
          required: ['in_flight', 'queued', 'backends'],
          properties: {
            in_flight: count,
            queued: count,
            backends: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'state'],
                properties: { name: { type: 'string' }, state: { enum: ['up', 'down', 'ejected', 'draining'] } },
              },
            },
          },
        },
      },
    },
    400: problem,
    403: problem,
  },
}

const reportRow: JsonSchema = {
  type: 'object',
  required: ['group', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'],
  properties: {
    group: { type: 'string' },
    requests: count,
    errors: count,
    prompt_tokens: count,
    completion_tokens: count,
    cost: { type: 'number', minimum: 0 },
  },
}

export const usageDoc = {
  summary: 'Usage totals grouped by hour, day, model, user, key or API, from the rollups (JSON or CSV)',
  query: {
    type: 'object',
    properties: {
      ...window,
      by: { enum: ['hour', 'day', 'model', 'user', 'key', 'api'], default: 'day' },
      key: { type: 'string' },
      model: { type: 'string' },
      api: { type: 'string' },
      format: { enum: ['json', 'csv'], default: 'json', description: 'csv: text/csv, formula cells defused' },
    },
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

const requestItem: JsonSchema = {
  type: 'object',
  required: ['request_id', 'time', 'api', 'route', 'status', 'tokens', 'duration_ms', 'cost', 'queue_ms'],
  properties: {
    request_id: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
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
    tokens: { enum: ['exact', 'estimated', 'unknown', 'none'] },
    ttfb_ms: { type: ['number', 'null'] },
    duration_ms: { type: 'number' },
    bytes_in: count,
    bytes_out: count,
    client_ip: { type: ['string', 'null'] },
    client_aborted: { enum: [0, 1] },
    cost: { type: 'number' },
    queue_ms: count,
    cache: { enum: ['hit', 'miss', 'bypass', null] },
  },
}

export const usageRequestsDoc = {
  summary: 'Recent requests, newest first, filtered; a bounded page at a time',
  query: {
    type: 'object',
    properties: {
      ...window,
      since: { ...instant, description: `${instant.description}; default 7d, at most 7 days before until` },
      model: { type: 'string' },
      key: { type: 'string' },
      api: { type: 'string' },
      status: { type: 'string', pattern: '^([1-5][0-9][0-9]|[1-5]xx|error)$', description: '429, 5xx or error' },
      request_id: { type: 'string' },
      limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
      cursor: { type: 'string', description: 'next_cursor of the previous page' },
    },
  },
  responses: {
    200: {
      type: 'object',
      required: ['items', 'next_cursor'],
      properties: {
        items: { type: 'array', items: requestItem },
        next_cursor: {
          type: ['string', 'null'],
          description:
            'null: nothing left in the window. A page may hold fewer than limit items (even none) and still a ' +
            'cursor: it read its budget of rows without finding more matches',
        },
      },
    },
    400: problem,
    403: problem,
  },
}

const queueCounts = { waiting: count, running: count }

export const queueDoc = {
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
