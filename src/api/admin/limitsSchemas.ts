// What /admin/v1/limits takes and answers (handlers: limits.ts; rules: src/admin/limits.ts, docs/limits.md).
import { limitKinds } from '../../limits/rules.js'
import { subjectTypes } from '../../admin/limits.js'
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { exactObject, page, pageQuery, problem } from './commonSchemas.js'

const limitValues: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(limitKinds.map((kind) => [kind, { type: 'integer', minimum: 1 }])),
}

const gateway: JsonSchema = { type: 'string', enum: ['ollama', 'openai', '*'] }

export const ruleView: JsonSchema = exactObject({
  subject_type: { type: 'string', enum: [...subjectTypes] },
  subject: { type: 'string', description: 'a key id, username, role, address range, or "-" for the default' },
  gateway,
  model: { type: ['string', 'null'], description: 'one model; null: every model' },
  limits: limitValues,
})

/** The scope of one rule, in the query of the routes on /limits/{subject}/{name}. */
const scopeQuery: JsonSchema = {
  type: 'object',
  properties: {
    gateway: { ...gateway, default: '*', description: "which API; '*' = both together" },
    model: { type: 'string', description: 'one model (llama3.2:3b); default every model' },
  },
}

const oneRule = { 400: problem, 404: problem }

export const limitsListDoc: RouteDoc = {
  summary: 'List every limit rule',
  query: pageQuery({ subject_type: { type: 'string', enum: [...subjectTypes] } }),
  responses: { 200: page(ruleView), 400: problem },
}

export const limitGetDoc: RouteDoc = {
  summary: "One subject's limits on one API (or both) for one model (or every one)",
  query: scopeQuery,
  responses: { 200: ruleView, ...oneRule },
  etag: true,
}

export const limitPutDoc: RouteDoc = {
  summary: 'Set the rule to exactly these limits (kinds left out are cleared), creating it',
  query: scopeQuery,
  body: { ...limitValues, minProperties: 1 },
  responses: { 200: ruleView, ...oneRule, 412: problem },
  etag: true,
}

export const limitDeleteDoc: RouteDoc = {
  summary: 'Remove the rule: less specific rules apply in its place',
  query: scopeQuery,
  responses: { 200: exactObject({ removed: ruleView }), ...oneRule, 412: problem },
  etag: true,
}

export const limitResetDoc: RouteDoc = {
  summary: 'Remove every rule of the subject, on every API and model',
  responses: { 200: exactObject({ removed: { type: 'array', items: ruleView } }), ...oneRule },
}

export const limitsExplainDoc: RouteDoc = {
  summary: 'Which limits apply to a key or a user, and the rule each comes from',
  query: {
    type: 'object',
    properties: {
      key: { type: 'string' },
      user: { type: 'string' },
      api: { type: 'string', enum: ['ollama', 'openai'], default: 'ollama' },
      model: { type: 'string' },
    },
  },
  responses: {
    200: exactObject({
      limits: {
        type: 'array',
        items: exactObject({
          limit: { type: 'string', enum: [...limitKinds] },
          value: { type: 'integer', minimum: 1 },
          from: ruleView,
        }),
      },
    }),
    ...oneRule,
  },
}
