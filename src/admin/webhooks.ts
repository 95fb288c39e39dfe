// Webhook subscriptions, as the CLI (`parallama webhook ...`) and the admin API (/admin/v1/webhooks) manage them
// (docs/webhooks.md). A generated signing secret is returned once by `addWebhook`; views never hold a secret.
import { randomUUID } from 'node:crypto'
import { GatewayError } from '../errors.js'
import { parsePatterns } from '../events/events.js'
import { checkSecret, newSecret } from '../events/signature.js'
import { WebhookStore, type Delivery, type DeliveryState, type Webhook } from '../events/webhookStore.js'
import { isoTime as time } from '../store/bounds.js'
import type { Store } from '../store/store.js'
import { auditedChange, recordOk, type AuditTrail } from './auditTrail.js'
import { storeCall } from './storeErrors.js'
import { expectVersion, versionOf, type Expected } from './version.js'

/** http(s) only, no credentials in it (they would be shown by lists); any host: an admin chooses the receivers. */
export function checkWebhookUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new GatewayError('invalid_request', `"${text}" is not a URL: give an http:// or https:// URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new GatewayError('invalid_request', `a webhook URL must be http:// or https://, not ${url.protocol}`)
  }
  if (url.username || url.password) {
    throw new GatewayError('invalid_request', 'a webhook URL must not hold credentials (user:password@)')
  }
  return url.href
}

/** Event types or patterns, comma-separated, in their stored form. */
export function checkEventPatterns(text: string): string {
  const patterns = parsePatterns(text)
  if (typeof patterns === 'string') throw new GatewayError('invalid_request', patterns)
  return patterns.join(',')
}

export function checkGivenSecret(secret: string): string {
  const problem = checkSecret(secret)
  if (problem) throw new GatewayError('invalid_request', problem)
  return secret
}

/** A webhook as shown: never its secret. */
export function webhookView(webhook: Webhook) {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    source: webhook.source,
    created: time(webhook.createdAt),
  }
}

/** Webhooks are changed only by adding and removing: the version is the row itself, bar the secret. */
export function webhookVersion(webhook: Webhook): string {
  return versionOf(webhook.id, webhook.url, webhook.events, webhook.createdAt)
}

export function deliveryView(delivery: Delivery) {
  return {
    id: delivery.id,
    webhook: delivery.webhookId,
    event_id: delivery.eventId,
    type: delivery.eventType,
    state: delivery.state,
    attempts: delivery.attempts,
    last_status: delivery.lastStatus,
    last_error: delivery.lastError,
    created: time(delivery.createdAt),
    next_attempt: delivery.state === 'pending' ? time(delivery.nextAttemptAt) : null,
    finished: time(delivery.finishedAt),
  }
}

export function listWebhooks(store: Store): Webhook[] {
  return new WebhookStore(store.db).list()
}

export function getWebhook(store: Store, id: string): Webhook {
  return storeCall(() => new WebhookStore(store.db).get(id))
}

/**
 * Subscribes a checked URL to checked patterns, signed with the given secret or a new one; `secret` in the result
 * only when generated (the caller shows it once).
 */
export function addWebhook(
  store: Store,
  trail: AuditTrail,
  fields: { url: string; events: string; secret?: string },
): { webhook: Webhook; secret?: string } {
  const secret = fields.secret ?? newSecret()
  return auditedChange(store, trail, 'webhook.add', null, () => {
    const webhook = new WebhookStore(store.db).add({ url: fields.url, events: fields.events, secret })
    const target = `webhook:${webhook.id}`
    if (fields.secret === undefined) recordOk(trail, 'webhook.secret_reveal', target)
    const value = fields.secret === undefined ? { webhook, secret } : { webhook }
    return { value, target, after: webhookAuditFields(webhook) }
  })
}

/** What the audit log keeps of a webhook: never its secret. */
function webhookAuditFields(webhook: Webhook) {
  return { url: webhook.url, events: webhook.events, source: webhook.source }
}

/** Removes the webhook with its deliveries (pending ones are not sent). */
export function removeWebhook(store: Store, trail: AuditTrail, id: string, expected?: Expected): Webhook {
  return auditedChange(store, trail, 'webhook.remove', `webhook:${id}`, () => {
    const webhooks = new WebhookStore(store.db)
    expectVersion(expected, webhookVersion(webhooks.get(id)), `webhook ${id}`)
    const removed = webhooks.remove(id)
    return { value: removed, before: webhookAuditFields(removed) }
  })
}

/** Queues a webhook.test event for the webhook alone; a running server sends it within webhooks.poll_interval. */
export function testWebhook(store: Store, trail: AuditTrail, id: string): string {
  return auditedChange(store, trail, 'webhook.test', `webhook:${id}`, () => {
    const webhooks = new WebhookStore(store.db)
    const event = {
      id: `evt_${randomUUID()}`,
      type: 'webhook.test' as const,
      time: Date.now(),
      data: { webhook_id: id },
    }
    webhooks.enqueue([event], id)
    return { value: event.id, after: { event_id: event.id } }
  })
}

export interface DeliveryFilter {
  webhookId?: string
  state?: DeliveryState
  limit: number
  /** Only deliveries older than this one (paging). */
  before?: number
}

/** Deliveries newest first (none for a webhook that does not exist). */
export function recentDeliveries(store: Store, filter: DeliveryFilter): Delivery[] {
  return new WebhookStore(store.db).recent(filter)
}

/** Each attempt of the deliveries, in order. */
export function deliveryAttempts(store: Store, deliveries: Delivery[]) {
  const webhooks = new WebhookStore(store.db)
  return deliveries.flatMap((delivery) => webhooks.attempts(delivery.id))
}
