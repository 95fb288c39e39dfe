// Records usage off the hot path: a request's end only appends its row to an in-memory queue; the queue is written in
// one transaction every flush_interval (or sooner once flush_rows are waiting), with the hourly rollups. A crash loses
// at most one window; SQLite's WAL keeps the file consistent whatever happens. Closing writes everything left.
import type { Logger } from '../logger.js'
import type { UsageStore } from '../store/usage.js'
import type { UsageRow } from './usageRow.js'

export interface RecorderOptions {
  flushIntervalMs: number
  flushRows: number
  /** Rows per transaction: a larger backlog is written in slices, one per event-loop turn, so no write blocks long. */
  sliceRows?: number
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

  /** Writes what is queued: one slice now, the rest on the following event-loop turns (all of it with `all`). */
  flush(all = false): void {
    this.flushScheduled = false
    if (this.queue.length === 0) return
    const sliceRows = this.options.sliceRows ?? 250
    do {
      const slice = this.queue.length <= sliceRows ? this.queue : this.queue.slice(0, sliceRows)
      this.queue = slice === this.queue ? [] : this.queue.slice(sliceRows)
      if (!this.write(slice)) return
    } while (all && this.queue.length > 0)
    if (this.queue.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** One transaction; false (rows kept for the next try) when the database refused it. */
  private write(batch: UsageRow[]): boolean {
    const started = performance.now()
    try {
      this.store.write(batch)
      this.stats.rows += batch.length
    } catch (error) {
      // Kept for the next try (the database may be busy with a long CLI write); bounded so memory cannot run away.
      this.stats.failures++
      if (batch.length + this.queue.length <= 100 * this.options.flushRows) this.queue = batch.concat(this.queue)
      this.logger.error('could not write usage rows; will retry', { rows: batch.length, err: error })
      return false
    }
    const took = performance.now() - started
    this.stats.flushes++
    this.stats.lastFlushMs = took
    this.stats.maxFlushMs = Math.max(this.stats.maxFlushMs, took)
    return true
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.flush(true)
  }
}
