// Quota alerts: recorded once per threshold and period in the database (the record decides, so restarts and other
// processes cannot send one twice), logged, counted, and posted to a webhook — signed with HMAC-SHA256, retried with
// back-off on failures, never awaited by the request that crossed the threshold.
import { createHmac, randomUUID } from 'node:crypto'
import { request } from 'undici'
import type { QuotaAlert, QuotaAlerts } from '../limits/limiter.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'

export interface AlertOptions {
  thresholds: number[]
  webhookUrl: string
  webhookSecret: string
  retries: number
  retryDelayMs: number
  timeoutMs: number
}

export class AlertDispatcher implements QuotaAlerts {
  readonly thresholds: number[]
  readonly stats = { fired: 0, delivered: 0, failed: 0 }
  private readonly statements
  private pending = 0

  constructor(
    db: Db,
    private readonly options: AlertOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.thresholds = [...options.thresholds].sort((a, b) => a - b)
    this.statements = {
      sent: db.prepare('SELECT threshold FROM alerts_sent WHERE counter = ? AND period_start = ?').pluck(),
      record: db.prepare(
        'INSERT OR IGNORE INTO alerts_sent (counter, period_start, threshold, sent_at) VALUES (?, ?, ?, ?)',
      ),
    }
  }

  sent(counter: string, periodStart: number): number[] {
    return this.statements.sent.all(counter, periodStart) as number[]
  }

  fire(alert: QuotaAlert): void {
    const first =
      this.statements.record.run(alert.counter, alert.periodStart, alert.threshold, this.now()).changes === 1
    if (!first) return
    this.stats.fired++
    const { counter: _counter, ...event } = alert
    const body = JSON.stringify({
      id: randomUUID(),
      type: 'quota.threshold',
      time: new Date(this.now()).toISOString(),
      ...event,
      period_start: new Date(alert.periodStart).toISOString(),
      period_end: new Date(alert.periodEnd).toISOString(),
    })
    this.logger.warn('quota threshold reached', {
      threshold: alert.threshold,
      quota: alert.quota,
      subject: alert.subject,
      used: alert.used,
      limit: alert.limit,
    })
    if (this.options.webhookUrl) this.deliver(body, 0)
  }

  /** Alerts still being delivered (for tests and shutdown). */
  get inFlight(): number {
    return this.pending
  }

  private deliver(body: string, attempt: number): void {
    this.pending++
    const signature = createHmac('sha256', this.options.webhookSecret).update(body).digest('hex')
    void request(this.options.webhookUrl, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'parallama-alerts',
        'x-parallama-signature': `sha256=${signature}`,
      },
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
    })
      .then(async (response) => {
        await response.body.dump()
        if (response.statusCode < 300) return 'delivered'
        // A receiver that refuses the alert itself (4xx but 429) will refuse it again.
        return response.statusCode >= 500 || response.statusCode === 429 ? `status ${response.statusCode}` : 'refused'
      })
      .catch((error: unknown) => (error as { code?: string }).code ?? (error as Error).message)
      .then((outcome) => {
        this.pending--
        if (outcome === 'delivered') return void this.stats.delivered++
        if (outcome !== 'refused' && attempt < this.options.retries) {
          const delay = Math.min(60_000, this.options.retryDelayMs * 2 ** attempt)
          setTimeout(() => this.deliver(body, attempt + 1), delay).unref()
          return
        }
        this.stats.failed++
        this.logger.error('quota alert could not be delivered', { outcome, attempts: attempt + 1 })
      })
  }
}
