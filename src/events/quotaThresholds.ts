// Quota thresholds as events: the limiter calls fire() during admission, which only queues; the INSERT that records
// the threshold (once per counter, period and threshold, across restarts and processes — migration 005's table) runs
// in the outbox's next flush, and only the first record becomes a quota.threshold event. Also logged and counted.
import type { QuotaAlert, QuotaAlerts } from '../limits/limiter.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { randomUUID } from 'node:crypto'
import type { GatewayEvent } from './events.js'
import type { Outbox } from './outbox.js'

export class QuotaThresholds implements QuotaAlerts {
  readonly thresholds: number[]
  readonly stats = { fired: 0, delivered: 0, failed: 0 }
  private readonly statements

  constructor(
    db: Db,
    thresholds: number[],
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.thresholds = [...thresholds].sort((a, b) => a - b)
    this.statements = {
      sent: db.prepare('SELECT threshold FROM alerts_sent WHERE counter = ? AND period_start = ?').pluck(),
      record: db.prepare(
        'INSERT OR IGNORE INTO alerts_sent (counter, period_start, threshold, sent_at) VALUES (?, ?, ?, ?)',
      ),
    }
  }

  /** A read, when a quota's period is first seen by the limiter (not per request). */
  sent(counter: string, periodStart: number): number[] {
    return this.statements.sent.all(counter, periodStart) as number[]
  }

  fire(alert: QuotaAlert): void {
    const time = this.now()
    this.outbox.defer(() => this.record(alert, time))
  }

  private record(alert: QuotaAlert, time: number): GatewayEvent[] {
    const first = this.statements.record.run(alert.counter, alert.periodStart, alert.threshold, time).changes === 1
    if (!first) return []
    this.stats.fired++
    const { threshold, quota, limit, used, subject, gateway, model } = alert
    this.logger.warn('quota threshold reached', { threshold, quota, subject, used, limit })
    const data = {
      threshold,
      quota,
      limit,
      used,
      period_start: new Date(alert.periodStart).toISOString(),
      period_end: new Date(alert.periodEnd).toISOString(),
      subject,
      gateway,
      model,
    }
    return [{ id: `evt_${randomUUID()}`, type: 'quota.threshold', time, data }]
  }
}
