// What /admin/v1/webhooks takes and answers (handlers: webhooks.ts; views: src/admin/webhooks.ts; docs/webhooks.md).
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { exactObject, page, pageQuery, problem, time } from './commonSchemas.js'

export const webhookView: JsonSchema = exactObject({
  id: { type: 'string', pattern: '^wh_' },
  url: { type: 'string', format: 'uri' },
  events: { type: 'string', description: 'event types or patterns, comma-separated' },
  source: { type: 'string', enum: ['cli', 'config'], description: 'cli: added by an admin (CLI or API)' },
  created: { type: 'string', format: 'date-time' },
})

const deliveryView: JsonSchema = exactObject({
  id: { type: 'integer' },
  webhook: { type: 'string' },
  event_id: { type: 'string' },
  type: { type: 'string' },
  state: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
  attempts: { type: 'integer', minimum: 0 },
  last_status: { type: ['integer', 'null'] },
  last_error: { type: ['string', 'null'] },
  created: { type: 'string', format: 'date-time' },
  next_attempt: time,
  finished: time,
})

const notFound = { 404: problem }

export const webhooksListDoc: RouteDoc = {
  summary: 'List webhooks (never their secrets)',
  query: pageQuery(),
  responses: { 200: page(webhookView), 400: problem },
}

export const webhooksCreateDoc: RouteDoc = {
  summary: 'Subscribe a URL to events; a generated signing secret is returned once',
  body: exactObject(
    {
      url: { type: 'string', description: 'http:// or https://, without credentials' },
      events: {
        oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
        description: "event types or patterns ('key.*', 'backend.down', '*')",
      },
      secret: { type: 'string', pattern: '^whsec_', description: 'default: generated and returned once' },
    },
    ['secret'],
  ),
  responses: {
    201: {
      ...webhookView,
      properties: { ...(webhookView.properties as object), secret: { type: 'string', pattern: '^whsec_' } },
    },
    400: problem,
  },
  etag: true,
}

export const webhookGetDoc: RouteDoc = {
  summary: 'One webhook',
  responses: { 200: webhookView, ...notFound },
  etag: true,
}

export const webhookDeleteDoc: RouteDoc = {
  summary: 'Remove a webhook and its deliveries (pending ones are not sent)',
  responses: { 200: webhookView, ...notFound, 412: problem },
  etag: true,
}

export const webhookTestDoc: RouteDoc = {
  summary: 'Queue a webhook.test event for this webhook alone',
  responses: { 202: exactObject({ webhook: { type: 'string' }, event_id: { type: 'string' } }), ...notFound },
}

export const webhookDeliveriesDoc: RouteDoc = {
  summary: "The webhook's deliveries, newest first",
  query: pageQuery({ state: { type: 'string', enum: ['pending', 'delivered', 'dead'] } }),
  responses: { 200: page(deliveryView), 400: problem, ...notFound },
}
