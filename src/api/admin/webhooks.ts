// /admin/v1/webhooks: list, add, show, remove, test, deliveries (manage_webhooks). The rules are the service's
// (src/admin/webhooks.ts), shared with `parallama webhook`.
import {
  addWebhook,
  checkEventPatterns,
  checkGivenSecret,
  checkWebhookUrl,
  deliveryView,
  getWebhook,
  listWebhooks,
  recentDeliveries,
  removeWebhook,
  testWebhook,
  webhookVersion,
  webhookView,
} from '../../admin/webhooks.js'
import { GatewayError } from '../../errors.js'
import type { Webhook } from '../../events/webhookStore.js'
import type { AdminRoutesContext } from '../admin.js'
import type { JsonHandler } from '../jsonRoute.js'
import { byKey, pageOf, pageRequest, writeCursor } from '../pagination.js'
import { ifMatch, withEtag } from '../preconditions.js'
import { oneOf, onlyFields, queryFields, requiredString, stringOf } from './bodyFields.js'

export function webhooksHandlers({ store }: AdminRoutesContext): Record<string, JsonHandler> {
  return {
    webhooks_list: ({ request }) => {
      onlyFields(queryFields(request.query), ['limit', 'cursor'])
      const paging = pageRequest(new URLSearchParams(request.query), 'webhooks')
      if (paging instanceof GatewayError) return paging
      const webhooks = listWebhooks(store).sort(byKey(listOrder))
      return { status: 200, body: pageOf(webhooks, paging, 'webhooks', listOrder, webhookView) }
    },
    webhooks_create: ({ body, trail }) => {
      onlyFields(body, ['url', 'events', 'secret'])
      const url = checkWebhookUrl(requiredString(body, 'url'))
      const events = checkEventPatterns(eventsText(body.events))
      const given = stringOf(body, 'secret')
      const added = addWebhook(store, trail, {
        url,
        events,
        secret: given === undefined ? undefined : checkGivenSecret(given),
      })
      const shown = { ...webhookView(added.webhook), ...(added.secret ? { secret: added.secret } : {}) }
      return withEtag(201, shown, webhookVersion(added.webhook))
    },
    webhook_get: ({ params }) => {
      const webhook = getWebhook(store, params[0]!)
      return withEtag(200, webhookView(webhook), webhookVersion(webhook))
    },
    webhook_delete: ({ params, header, trail }) => ({
      status: 200,
      body: webhookView(removeWebhook(store, trail, params[0]!, ifMatch(header('if-match')))),
    }),
    webhook_test: ({ params, trail }) => ({
      status: 202,
      body: { webhook: params[0]!, event_id: testWebhook(store, trail, params[0]!) },
    }),
    webhook_deliveries: ({ params, request }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['limit', 'cursor', 'state'])
      const paging = pageRequest(new URLSearchParams(request.query), 'deliveries')
      if (paging instanceof GatewayError) return paging
      const webhookId = getWebhook(store, params[0]!).id
      const state = oneOf(query, 'state', ['pending', 'delivered', 'dead'] as const)
      // Newest first, read from the database a page (and one more, to know of a next page) at a time.
      const before = paging.after === undefined ? undefined : Number(paging.after)
      if (before !== undefined && !Number.isSafeInteger(before)) {
        return new GatewayError(
          'invalid_request',
          '"cursor" is not one this list gave out: pass next_cursor as it came',
        )
      }
      const rows = recentDeliveries(store, { webhookId, state, limit: paging.limit + 1, before })
      const items = rows.slice(0, paging.limit)
      const next = rows.length > paging.limit ? writeCursor('deliveries', String(items.at(-1)!.id)) : null
      return { status: 200, body: { items: items.map(deliveryView), next_cursor: next } }
    },
  }
}

/** Creation order (ids are random): a unique key for paging. */
function listOrder(webhook: Webhook): string {
  return `${String(webhook.createdAt).padStart(16, '0')}\u0000${webhook.id}`
}

/** `events` as a comma-separated text or a list of patterns. */
function eventsText(events: unknown): string {
  if (typeof events === 'string') return events
  if (Array.isArray(events) && events.every((event) => typeof event === 'string')) return events.join(',')
  throw new GatewayError(
    'invalid_request',
    '"events" is required: event types or patterns, as a list or comma-separated',
  )
}
