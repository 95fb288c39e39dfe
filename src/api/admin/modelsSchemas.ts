// The documented shapes of the backends and models routes (JSON Schema 2020-12, as OpenAPI 3.1 uses), keyed by route
// name: what `/admin/v1/openapi.json` is generated from once the route table takes a `doc` per route, and what the
// tests check real answers against.

type JsonSchema = Record<string, unknown>

/** A route's documentation (the route table's `doc` argument). */
export interface ModelRouteDoc {
  summary: string
  query?: JsonSchema
  body?: JsonSchema
  responses: Record<number, JsonSchema | null>
}

const problem: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code', 'request_id'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    request_id: { type: 'string' },
  },
}

const nullableString = { type: ['string', 'null'] }
const nullableCount = { type: ['integer', 'null'], minimum: 0 }
const modelName = { type: 'string', minLength: 1, maxLength: 600, description: 'a model name, e.g. llama3.2:3b' }
const backendName = { type: 'string', minLength: 1, description: 'a configured backend name; left out: every one' }

export const backendStatusSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'url', 'state', 'parallel', 'in_flight', 'queued', 'models_loaded', 'last_check', 'last_error'],
  properties: {
    name: { type: 'string' },
    url: { type: 'string' },
    state: { enum: ['up', 'down', 'ejected', 'draining'] },
    parallel: { type: 'integer', minimum: 1 },
    in_flight: { type: 'integer', minimum: 0 },
    queued: {
      type: 'integer',
      minimum: 0,
      description: 'requests waiting in the gateway that this backend could take',
    },
    models_loaded: { type: 'array', items: { type: 'string' } },
    last_check: { ...nullableString, format: 'date-time' },
    last_error: nullableString,
  },
}

export const inventoryEntrySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'backends', 'differs'],
  properties: {
    model: { type: 'string' },
    differs: { type: 'boolean', description: 'digests differ, or only some backends have it' },
    backends: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['backend', 'installed', 'loaded', 'size', 'digest', 'modified_at'],
        properties: {
          backend: { type: 'string' },
          installed: { type: 'boolean' },
          loaded: { type: 'boolean' },
          size: nullableCount,
          digest: nullableString,
          modified_at: nullableString,
          size_vram: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
}

const page = (items: JsonSchema): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: ['items', 'next_cursor'],
  properties: { items: { type: 'array', items }, next_cursor: nullableString },
})

const listQuery: JsonSchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
  },
}

const errorObject = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
}

/** One line of a pull's NDJSON answer (the 200 schema documents a line, not the whole body). */
export const pullLineSchema: JsonSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['backend', 'status'],
      properties: {
        backend: { type: 'string' },
        status: { type: 'string' },
        digest: { type: 'string' },
        total: { type: 'integer', minimum: 0 },
        completed: { type: 'integer', minimum: 0 },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['backend', 'error'],
      properties: { backend: { type: 'string' }, error: errorObject },
    },
  ],
}

const outcomes: JsonSchema = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['backend'],
    properties: { backend: { type: 'string' }, status: { const: 'success' }, error: errorObject },
  },
}

const failures = { 400: problem, 401: problem, 403: problem, 404: problem, 502: problem, 504: problem }

export const modelRouteDocs: Record<string, ModelRouteDoc> = {
  backends_list: {
    summary: 'The backends, their state (up, down, ejected, draining), slots, requests in flight and waiting',
    query: listQuery,
    responses: { 200: page(backendStatusSchema), 400: problem, 401: problem, 403: problem },
  },
  backends_drain: {
    summary: 'Drain a backend: no new requests go there, those in flight finish (kept across a reload)',
    responses: { 200: backendStatusSchema, 401: problem, 403: problem, 404: problem },
  },
  backends_undrain: {
    summary: 'Put a drained backend back in service',
    responses: { 200: backendStatusSchema, 401: problem, 403: problem, 404: problem },
  },
  models_list: {
    summary: 'Every model on every backend: installed, loaded, size, digest, and whether the backends differ',
    query: listQuery,
    responses: { 200: page(inventoryEntrySchema), 400: problem, 401: problem, 403: problem },
  },
  models_pull: {
    summary: 'Pull a model on one backend or all; streams NDJSON progress lines (this schema: one line)',
    body: {
      type: 'object',
      required: ['model'],
      properties: { model: modelName, backend: backendName },
    },
    responses: { 200: pullLineSchema, 400: problem, 401: problem, 403: problem, 404: problem },
  },
  models_copy: {
    summary: 'Copy a model under a new name on one backend or on every backend that has it',
    body: {
      type: 'object',
      required: ['source', 'destination'],
      properties: { source: modelName, destination: modelName, backend: backendName },
    },
    responses: {
      200: {
        type: 'object',
        additionalProperties: false,
        required: ['source', 'destination', 'backends'],
        properties: { source: { type: 'string' }, destination: { type: 'string' }, backends: outcomes },
      },
      ...failures,
    },
  },
  models_delete: {
    summary: 'Delete a model on one backend (?backend=) or on every backend that has it',
    query: { type: 'object', properties: { backend: backendName } },
    responses: {
      200: {
        type: 'object',
        additionalProperties: false,
        required: ['model', 'backends'],
        properties: { model: { type: 'string' }, backends: outcomes },
      },
      ...failures,
    },
  },
}
