// Records usage off the hot path: a request's end only appends its row to an in-memory queue; the queue is written in
// one transaction every flush_interval (or sooner once flush_rows are waiting), with the hourly rollups. A crash loses
// at most one window; SQLite's WAL keeps the file consistent whatever happens. Closing writes everything left.
import type { Logger } from '../logger.js'
import type { UsageStore } from '../store/usage.js'
import type { UsageRow } from './usageRow.js'

export interface RecorderOptions {
  flushIntervalMs: number
  flushRows: number
}

export class UsageRecorder {
  private queue: UsageRow[] = []
  private timer: NodeJS.Timeout | undefined
  private flushScheduled = false
  /** For metrics and the bench: rows written, flushes, and how long the longest one blocked the event loop. */
  readonly stats = { rows: 0, flushes: 0, failures: 0, lastFlushMs: 0, maxFlushMs: 0 }

  constructor(
    private readonly store: UsageStore,
    private readonly options: RecorderOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs)
    this.timer.unref()
  }

  record(row: UsageRow): void {
    this.queue.push(row)
    if (this.queue.length >= this.options.flushRows && !this.flushScheduled) {
      // Not now: the request that filled the queue should not pay for the write.
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  get pending(): number {
    return this.queue.length
  }

  flush(): void {
    this.flushScheduled = false
    if (this.queue.length === 0) return
    const batch = this.queue
    this.queue = []
    const started = performance.now()
    try {
      this.store.write(batch)
      this.stats.rows += batch.length
    } catch (error) {
      // Kept for the next try (the database may be busy with a long CLI write); bounded so memory cannot run away.
      this.stats.failures++
      this.queue =
        batch.length + this.queue.length <= 100 * this.options.flushRows ? batch.concat(this.queue) : this.queue
      this.logger.error('could not write usage rows; will retry', { rows: batch.length, err: error })
    }
    const took = performance.now() - started
    this.stats.flushes++
    this.stats.lastFlushMs = took
    this.stats.maxFlushMs = Math.max(this.stats.maxFlushMs, took)
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.flush()
  }
}
