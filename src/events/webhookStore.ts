// The webhook tables (migration 008): subscriptions, the outbox of deliveries, their attempts. Shared by the CLI
// (add, list, remove, test, deliveries) and the server (enqueue, deliver); every write is one short transaction.
import { randomBytes } from 'node:crypto'
import type { Db } from '../store/database.js'
import { eventBody, matches, type GatewayEvent } from './events.js'
import { withBusyTimeout } from './outbox.js'

export interface Webhook {
  id: string
  url: string
  events: string
  secret: string
  legacySignature: boolean
  source: 'cli' | 'config'
  createdAt: number
}

export type DeliveryState = 'pending' | 'delivered' | 'dead'

export interface Delivery {
  id: number
  webhookId: string
  eventId: string
  eventType: string
  body: string
  createdAt: number
  state: DeliveryState
  attempts: number
  nextAttemptAt: number
  lastStatus: number | null
  lastError: string | null
  finishedAt: number | null
}

/** A due delivery with what sending it needs. */
export interface DueDelivery extends Delivery {
  url: string
  secret: string
  legacySignature: boolean
}

export interface Attempt {
  deliveryId: number
  attempt: number
  at: number
  status: number | null
  error: string | null
}

export class WebhookError extends Error {
  constructor(
    readonly code: 'webhook_not_found' | 'invalid_webhook',
    message: string,
  ) {
    super(message)
  }
}

const webhookColumns = `id, url, events, secret, legacy_signature AS legacySignature, source, created_at AS createdAt`
const deliveryColumns = `d.id, d.webhook_id AS webhookId, d.event_id AS eventId, d.event_type AS eventType, d.body,
  d.created_at AS createdAt, d.state, d.attempts, d.next_attempt_at AS nextAttemptAt, d.last_status AS lastStatus,
  d.last_error AS lastError, d.finished_at AS finishedAt`

function toWebhook(row: unknown): Webhook | undefined {
  if (!row) return undefined
  const webhook = row as Omit<Webhook, 'legacySignature'> & { legacySignature: number }
  return { ...webhook, legacySignature: webhook.legacySignature === 1 }
}

export class WebhookStore {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      insert: db.prepare(`INSERT INTO webhooks (id, url, events, secret, legacy_signature, source, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      all: db.prepare(`SELECT ${webhookColumns} FROM webhooks ORDER BY created_at, id`),
      one: db.prepare(`SELECT ${webhookColumns} FROM webhooks WHERE id = ?`),
      remove: db.prepare('DELETE FROM webhooks WHERE id = ?'),
      enqueue: db.prepare(`INSERT OR IGNORE INTO webhook_deliveries
        (webhook_id, event_id, event_type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`),
      due: db.prepare(`SELECT ${deliveryColumns}, w.url, w.secret, w.legacy_signature AS legacySignature
        FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
        WHERE d.state = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`),
      nextDue: db.prepare(`SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'`).pluck(),
      attempt: db.prepare(
        'INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error) VALUES (?, ?, ?, ?, ?)',
      ),
      finish: db.prepare(`UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?,
        finished_at = ? WHERE id = ?`),
      retry: db.prepare(`UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?,
        next_attempt_at = ? WHERE id = ?`),
      recent: db.prepare(`SELECT ${deliveryColumns} FROM webhook_deliveries d
        WHERE (@webhook IS NULL OR d.webhook_id = @webhook) AND (@state IS NULL OR d.state = @state)
          AND (@before IS NULL OR d.id < @before)
        ORDER BY d.id DESC LIMIT @limit`),
      attempts: db.prepare(`SELECT delivery_id AS deliveryId, attempt, at, status, error FROM webhook_attempts
        WHERE delivery_id = ? ORDER BY attempt`),
      depth: db.prepare(`SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'`).pluck(),
      prune: db.prepare(`DELETE FROM webhook_deliveries WHERE state != 'pending' AND finished_at < ?`),
    }
  }

  add(webhook: { url: string; events: string; secret: string; legacySignature?: boolean; source?: 'cli' | 'config' }) {
    const id = `wh_${randomBytes(8).toString('hex')}`
    const { url, events, secret, legacySignature = false, source = 'cli' } = webhook
    this.statements.insert.run(id, url, events, secret, legacySignature ? 1 : 0, source, this.now())
    return this.get(id)
  }

  list(): Webhook[] {
    return this.statements.all.all().map((row) => toWebhook(row)!)
  }

  get(id: string): Webhook {
    const webhook = toWebhook(this.statements.one.get(id))
    if (!webhook) throw new WebhookError('webhook_not_found', `no webhook with id "${id}"`)
    return webhook
  }

  /**
   * Keeps the subscription of the deprecated alerts.webhook_url in step with the config: one webhook (source config)
   * for quota.threshold, signed with the old secret's bytes and the old header too; none when the URL is empty.
   */
  syncConfigWebhook(url: string, secret: string): void {
    this.db
      .transaction(() => {
        const current = this.list().filter((webhook) => webhook.source === 'config')
        if (!url) {
          for (const webhook of current) this.statements.remove.run(webhook.id)
          return
        }
        const kept = current.find((webhook) => webhook.url === url && webhook.secret === secret)
        for (const webhook of current) if (webhook !== kept) this.statements.remove.run(webhook.id)
        if (!kept) this.add({ url, events: 'quota.threshold', secret, legacySignature: true, source: 'config' })
      })
      .immediate()
  }

  /** Removes a webhook with its deliveries (pending ones are not sent). */
  remove(id: string): Webhook {
    return this.db
      .transaction(() => {
        const webhook = this.get(id)
        this.statements.remove.run(id)
        return webhook
      })
      .immediate()
  }

  /**
   * Queues each event for every webhook whose patterns match it (`only`: that webhook alone, whatever it subscribed
   * to). Call inside the transaction that records what caused the events; returns the deliveries queued.
   */
  enqueue(events: GatewayEvent[], only?: string): number {
    const webhooks = only === undefined ? this.list() : [this.get(only)]
    if (webhooks.length === 0) return 0
    const at = this.now()
    let queued = 0
    for (const event of events) {
      let body: string | undefined
      for (const webhook of webhooks) {
        if (only === undefined && !matches(webhook.events, event.type)) continue
        body ??= eventBody(event)
        queued += this.statements.enqueue.run(webhook.id, event.id, event.type, body, at, at).changes
      }
    }
    return queued
  }

  due(now: number, limit: number, skip: Set<number>): DueDelivery[] {
    const rows = this.statements.due.all(now, limit + skip.size) as (Omit<DueDelivery, 'legacySignature'> & {
      legacySignature: number
    })[]
    const due: DueDelivery[] = []
    for (const row of rows) {
      if (skip.has(row.id)) continue
      due.push({ ...row, legacySignature: row.legacySignature === 1 })
      if (due.length === limit) break
    }
    return due
  }

  /** When the next pending delivery is due (ms since epoch), or undefined. */
  nextDue(): number | undefined {
    return (this.statements.nextDue.get() as number | null) ?? undefined
  }

  /** Records an attempt and its outcome: delivered or dead (finished), or pending until `retryAt`. */
  recordAttempt(
    delivery: Delivery,
    outcome: { at: number; status: number | null; error: string | null },
    next: { state: 'delivered' | 'dead' } | { retryAt: number },
    /** Wait for the write lock up to busy_timeout (shutdown); else fail at once with SQLITE_BUSY (the event loop). */
    wait = false,
  ): void {
    const attempt = delivery.attempts + 1
    withBusyTimeout(this.db, wait, () =>
      this.db.transaction(() => {
        this.statements.attempt.run(delivery.id, attempt, outcome.at, outcome.status, outcome.error)
        if ('state' in next) {
          this.statements.finish.run(next.state, attempt, outcome.status, outcome.error, outcome.at, delivery.id)
        } else {
          this.statements.retry.run(attempt, outcome.status, outcome.error, next.retryAt, delivery.id)
        }
      })(),
    )
  }

  /** Newest first; `before`: only deliveries older than that one (the next page of a list). */
  recent(options: { webhookId?: string; state?: DeliveryState; limit: number; before?: number }): Delivery[] {
    const { webhookId = null, state = null, limit, before = null } = options
    return this.statements.recent.all({ webhook: webhookId, state, limit, before }) as Delivery[]
  }

  attempts(deliveryId: number): Attempt[] {
    return this.statements.attempts.all(deliveryId) as Attempt[]
  }

  /** Deliveries waiting to be sent (the outbox depth). */
  depth(): number {
    return this.statements.depth.get() as number
  }

  /** Forgets finished deliveries (and their attempts) older than `before`. */
  prune(before: number): number {
    return this.statements.prune.run(before).changes
  }
}
