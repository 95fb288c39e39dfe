// Usage accounting as the server runs it: every request's row recorded off the hot path, costs from the prices,
// the cost headers of whole replies, and the scheduled pruning of old rows.
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import type { ExchangeResult } from '../proxy/exchange.js'
import type { OllamaUsage } from '../proxy/usageSniffer.js'
import type { Db } from '../store/database.js'
import { UsageStore } from '../store/usage.js'
import { Pricing } from './pricing.js'
import { UsageRecorder } from './recorder.js'
import { usageRowOf } from './usageRows.js'

const hourMs = 3_600_000

export class Accounting {
  readonly store: UsageStore
  readonly recorder: UsageRecorder
  pricing: Pricing
  private cleanupTimer: NodeJS.Timeout | undefined
  /** Other rooms' hourly pruning (the audit log's retention), run by the same maintenance tick. */
  private readonly maintenance: ((now: number) => void)[] = []

  constructor(
    db: Db,
    database: Config['database'],
    private config: Config['usage'],
    private readonly logger: Logger,
  ) {
    this.store = new UsageStore(db)
    this.pricing = new Pricing(config)
    this.recorder = new UsageRecorder(
      { path: database.path, busyTimeoutMs: database.busy_timeout },
      { flushIntervalMs: config.flush_interval, flushRows: config.flush_rows },
      logger,
    )
  }

  /** Prices from a reloaded config (retention and flushing keep their start-up values). */
  reprice(config: Config['usage']): void {
    this.config = config
    this.pricing = new Pricing(config)
  }

  /** Adds a job to the hourly maintenance (before start). */
  alsoPrune(job: (now: number) => void): void {
    this.maintenance.push(job)
  }

  start(): void {
    this.recorder.start()
    if (this.config.retention > 0 || this.maintenance.length > 0) {
      this.cleanupTimer = setInterval(() => this.maintain(), hourMs)
      this.cleanupTimer.unref()
    }
  }

  /** One maintenance tick: usage rows past their retention, then the other rooms' jobs. */
  maintain(now = Date.now()): void {
    if (this.config.retention > 0) this.cleanup(now)
    for (const job of this.maintenance) job(now)
  }

  readonly record = (result: ExchangeResult): void => {
    this.recorder.record(usageRowOf(result, this.pricing))
  }

  readonly usageHeaders = (model: string | null, usage: OllamaUsage): string[] => {
    const prompt = usage.promptTokens ?? 0
    const completion = usage.completionTokens ?? 0
    const headers = ['x-parallama-prompt-tokens', String(prompt), 'x-parallama-completion-tokens', String(completion)]
    if (this.pricing.enabled) {
      headers.push(
        'x-parallama-cost',
        `${this.pricing.costOf(model, prompt, completion).toFixed(6)} ${this.config.currency}`,
      )
    }
    return headers
  }

  /** Deletes per-request rows past the retention (rollups stay). */
  cleanup(now = Date.now()): number {
    try {
      const deleted = this.store.deleteBefore(now - this.config.retention)
      if (deleted > 0) this.logger.info('pruned old usage rows', { rows: deleted })
      return deleted
    } catch (error) {
      this.logger.warn('could not prune usage rows', { err: error })
      return 0
    }
  }

  async close(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer)
    await this.recorder.close()
  }
}
