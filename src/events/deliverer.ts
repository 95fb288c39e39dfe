// Sends the outbox: due deliveries are POSTed with Standard Webhooks headers, a few at a time, each attempt bounded
// by a timeout, redirects never followed, at most a small part of the answer read. A 2xx delivers; anything else is
// tried again with back-off (retryPolicy.ts) and finally dead-lettered. A delivery is marked only after its attempt:
// a crash mid-attempt leaves it pending and it is sent again after the restart (at-least-once; receivers dedup on
// webhook-id).
import { request } from 'undici'
import type { Logger } from '../logger.js'
import { nextAttemptAt, type RetryOptions } from './retryPolicy.js'
import { legacySignature, sign } from './signature.js'
import type { DueDelivery, WebhookStore } from './webhookStore.js'

export interface DeliveryOptions extends RetryOptions {
  timeoutMs: number
  pollMs: number
  concurrency: number
}

/** What one attempt came to: the receiver's status, or why there was none. */
export interface SendOutcome {
  status: number | null
  error: string | null
}

export type Send = (
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
) => Promise<SendOutcome>

/** The most of an answer read (and then thrown away): a receiver cannot make us read a large body. */
const maxAnswerBytes = 64 * 1024

export const httpSend: Send = async (url, body, headers, timeoutMs) => {
  try {
    // undici's request follows no redirects: a 3xx is a failed attempt, like any other non-2xx.
    const response = await request(url, {
      method: 'POST',
      body,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    await response.body.dump({ limit: maxAnswerBytes }).catch(() => {})
    const ok = response.statusCode >= 200 && response.statusCode < 300
    return { status: response.statusCode, error: ok ? null : `status ${response.statusCode}` }
  } catch (error) {
    // A string code (ECONNREFUSED, UND_ERR_...); AbortSignal.timeout's DOMException has a numeric one (23).
    if ((error as Error).name === 'TimeoutError') return { status: null, error: 'timeout' }
    const code = (error as { code?: unknown }).code
    const text = typeof code === 'string' ? code : (error as Error).name
    return { status: null, error: String(text || 'error').slice(0, 200) }
  }
}

export interface DeliveryStats {
  delivered: number
  /** Attempts that failed (each retry counts). */
  failed: number
  dead: number
}

export class WebhookDeliverer {
  readonly stats: DeliveryStats = { delivered: 0, failed: 0, dead: 0 }
  private readonly inFlight = new Set<number>()
  /**
   * Outcomes not yet written because another process held the write lock (never waited for on the event loop), by
   * delivery id: written at the next look, and their deliveries not sent again meanwhile.
   */
  private readonly unrecorded = new Map<number, (wait: boolean) => void>()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly store: WebhookStore,
    private readonly options: () => DeliveryOptions,
    private readonly logger: Logger,
    private readonly clock: { now: () => number; random: () => number } = { now: Date.now, random: Math.random },
    private readonly send: Send = httpSend,
    /** Told when a delivery is finished (the quota-alert counters listen). */
    private readonly onFinished?: (delivery: DueDelivery, state: 'delivered' | 'dead') => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options().pollMs)
    this.timer.unref()
    this.wake()
  }

  /** Looks for due deliveries now (after the outbox wrote some), unless a look is under way. */
  wake(): void {
    if (this.stopped || this.running) return
    this.running = this.runOnce().finally(() => (this.running = undefined))
  }

  /**
   * Sends every delivery due now, `concurrency` at a time (a slot freed by one attempt goes to the next due delivery,
   * so a receiver that hangs holds one slot, not the others); resolves when every attempt started is recorded.
   */
  async runOnce(): Promise<void> {
    const options = this.options()
    const started: Promise<void>[] = []
    const fill = (): void => {
      const room = options.concurrency - this.inFlight.size
      if (room <= 0 || this.stopped) return
      let due: DueDelivery[]
      try {
        due = this.store.due(this.clock.now(), room, new Set([...this.inFlight, ...this.unrecorded.keys()]))
      } catch (error) {
        this.logger.warn('could not read the webhook outbox', { err: error })
        return
      }
      for (const delivery of due) started.push(this.attempt(delivery, options).then(fill))
    }
    this.writeUnrecorded(false)
    fill()
    for (let waited = 0; waited < started.length;) {
      const upTo = started.length
      await Promise.all(started.slice(waited, upTo))
      waited = upTo
    }
  }

  private async attempt(delivery: DueDelivery, options: DeliveryOptions): Promise<void> {
    this.inFlight.add(delivery.id)
    try {
      const timestamp = Math.floor(this.clock.now() / 1000)
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'parallama-webhooks',
        'webhook-id': delivery.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(delivery.secret, delivery.eventId, timestamp, delivery.body),
      }
      if (delivery.legacySignature) headers['x-parallama-signature'] = legacySignature(delivery.secret, delivery.body)
      const outcome = await this.send(delivery.url, delivery.body, headers, options.timeoutMs)
      this.record(delivery, outcome, options)
    } catch (error) {
      this.logger.warn('could not record a webhook delivery attempt', { err: error, delivery: delivery.id })
    } finally {
      this.inFlight.delete(delivery.id)
    }
  }

  private record(delivery: DueDelivery, outcome: SendOutcome, options: DeliveryOptions): void {
    const at = this.clock.now()
    if (outcome.error === null) {
      return this.write(delivery, { at, ...outcome }, { state: 'delivered' }, () => {
        this.stats.delivered++
        this.onFinished?.(delivery, 'delivered')
      })
    }
    this.stats.failed++
    const retryAt = nextAttemptAt(delivery.attempts + 1, delivery.createdAt, at, options, this.clock.random)
    if (retryAt !== undefined) return this.write(delivery, { at, ...outcome }, { retryAt }, () => {})
    this.write(delivery, { at, ...outcome }, { state: 'dead' }, () => {
      this.stats.dead++
      this.logger.warn('webhook delivery dead-lettered', {
        webhook: delivery.webhookId,
        event_id: delivery.eventId,
        type: delivery.eventType,
        attempts: delivery.attempts + 1,
        error: outcome.error,
      })
      this.onFinished?.(delivery, 'dead')
    })
  }

  /** Records an outcome now, or — the database locked by another process — keeps it for the next look. */
  private write(
    delivery: DueDelivery,
    outcome: { at: number; status: number | null; error: string | null },
    next: Parameters<WebhookStore['recordAttempt']>[2],
    then: () => void,
  ): void {
    const write = (wait: boolean) => {
      this.store.recordAttempt(delivery, outcome, next, wait)
      then()
    }
    try {
      write(false)
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error
      this.unrecorded.set(delivery.id, write)
    }
  }

  /** Writes the outcomes kept while the database was locked; `wait` (shutdown) waits for the lock. */
  private writeUnrecorded(wait: boolean): void {
    for (const [id, write] of this.unrecorded) {
      try {
        write(wait)
        this.unrecorded.delete(id)
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_BUSY' && !wait) return
        // Not writable (the webhook was removed, the database closed): the delivery stays as it was, sent again.
        this.unrecorded.delete(id)
        this.logger.warn('could not record a webhook delivery attempt', { err: error, delivery: id })
      }
    }
  }

  /** Stops looking; waits (at most `ms`) for attempts under way to be recorded. */
  async stop(ms = 2000): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.running) await Promise.race([this.running, new Promise((resolve) => setTimeout(resolve, ms).unref())])
    this.writeUnrecorded(true)
  }
}
