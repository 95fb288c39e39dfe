// The events room composed for the server: the bus, the outbox it feeds, the change feed and key expiry turned into
// events, the quota thresholds, and the deliverer sending it all to the webhooks. server.ts makes one and passes
// `emit` to whoever reports events.
import type { Config } from '../config/schema.js'
import type { QuotaAlerts } from '../limits/limiter.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { ChangeEvents } from './changeEvents.js'
import { WebhookDeliverer, type DeliveryOptions, type DeliveryStats, type Send } from './deliverer.js'
import { EventBus, type Emit } from './eventBus.js'
import { KeyExpiry } from './keyExpiry.js'
import { Outbox } from './outbox.js'
import { QuotaThresholds } from './quotaThresholds.js'
import { secretFromRaw } from './signature.js'
import { WebhookStore } from './webhookStore.js'

export interface GatewayEvents {
  bus: EventBus
  emit: Emit
  quotaAlerts: QuotaAlerts & { stats: { fired: number; delivered: number; failed: number } }
  webhooks: WebhookStore
  outbox: Outbox
  deliverer: WebhookDeliverer
  changes: ChangeEvents
  keyExpiry: KeyExpiry
  /** For /metrics: deliveries by outcome and the outbox depth. */
  stats(): DeliveryStats & { depth: number; dropped: number }
  /** Call when the change feed moved (the authenticator's change listener). */
  onChanges(): void
  /** A new config (reload): the delivery options are read live. */
  reload(config: Config): void
  close(): Promise<void>
}

export interface EventsOptions {
  now?: () => number
  random?: () => number
  send?: Send
}

export function deliveryOptions(config: Config['webhooks']): DeliveryOptions {
  return {
    timeoutMs: config.timeout,
    retryForMs: config.retry_for,
    maxAttempts: config.max_attempts,
    retryDelayMs: config.retry_delay,
    maxRetryDelayMs: config.max_retry_delay,
    pollMs: config.poll_interval,
    concurrency: config.concurrency,
  }
}

export function startEvents(config: Config, store: Store, logger: Logger, options: EventsOptions = {}): GatewayEvents {
  const now = options.now ?? Date.now
  let current = config
  const webhooks = new WebhookStore(store.db, now)
  webhooks.syncConfigWebhook(
    config.alerts.webhook_url,
    config.alerts.webhook_url ? secretFromRaw(config.alerts.webhook_secret) : '',
  )
  const bus = new EventBus(now)
  let quotaAlerts: QuotaThresholds | undefined = undefined
  const deliverer = new WebhookDeliverer(
    webhooks,
    () => deliveryOptions(current.webhooks),
    logger,
    { now, random: options.random ?? Math.random },
    options.send,
    (delivery, state) => {
      if (delivery.eventType !== 'quota.threshold' || !quotaAlerts) return
      if (state === 'delivered') quotaAlerts.stats.delivered++
      else quotaAlerts.stats.failed++
    },
  )
  const wake = () => deliverer.wake()
  const outbox = new Outbox(store.db, webhooks, logger, wake)
  bus.subscribe(outbox.add)
  quotaAlerts = new QuotaThresholds(store.db, config.alerts.thresholds.split(',').map(Number), outbox, logger, now)
  const changes = new ChangeEvents(store, webhooks, logger, wake)
  const keyExpiry = new KeyExpiry(store.db, webhooks, logger, wake, now)
  changes.run()
  keyExpiry.start(config.webhooks.key_expiry_check)
  deliverer.start()
  const prune = setInterval(() => {
    try {
      webhooks.prune(now() - current.webhooks.keep)
    } catch (error) {
      logger.warn('could not prune old webhook deliveries', { err: error })
    }
  }, 3_600_000)
  prune.unref()
  // A safety net: a run that failed (the database locked) is retried even if no further change comes.
  const catchUp = setInterval(() => changes.run(), 10_000)
  catchUp.unref()
  return {
    bus,
    emit: bus.emit,
    quotaAlerts,
    webhooks,
    outbox,
    deliverer,
    changes,
    keyExpiry,
    stats: () => ({ ...deliverer.stats, depth: webhooks.depth(), dropped: outbox.stats.dropped }),
    onChanges: () => changes.run(),
    reload: (next) => {
      current = next
    },
    async close() {
      clearInterval(prune)
      clearInterval(catchUp)
      keyExpiry.stop()
      outbox.flushAll()
      changes.run(true)
      await deliverer.stop()
    },
  }
}
