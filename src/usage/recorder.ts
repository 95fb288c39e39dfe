// Records usage off the hot path: a request's end only appends its row to an in-memory queue; every flush_interval
// (or sooner once flush_rows are waiting) the queue is handed to a writer thread, which writes it with the hourly
// rollups in one transaction on its own connection. The event loop only pays for handing the batch over. A crash
// loses at most what was not yet written; SQLite's WAL keeps the file consistent whatever happens.
// No row can poison the writer: each is checked (and made safe) before it is queued, and one the database still
// refuses is set aside alone — logged with its request id and counted — while the rest of its batch is written.
import { Worker } from 'node:worker_threads'
import type { Logger } from '../logger.js'
import type { UsageRow } from './usageRow.js'
import { checkUsageRow } from './usageRowCheck.js'
import type { WriterReply, WriterSetup } from './usageWriter.js'

export interface RecorderOptions {
  flushIntervalMs: number
  flushRows: number
}

// Run from source (tests), the writer is a .ts file that the same loader handles; built, it is .js.
const writerFile = new URL(`./usageWriter.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)

export class UsageRecorder {
  private queue: UsageRow[] = []
  private timer: NodeJS.Timeout | undefined
  private flushScheduled = false
  private readonly worker: Worker
  private nextId = 0
  /** Batches handed to the writer and not yet acknowledged, by id. */
  private readonly inFlight = new Map<number, UsageRow[]>()
  private idleWaiters: (() => void)[] = []
  /**
   * For metrics and the bench: rows written, batches, the writer's time per batch, the event loop's hand-over time;
   * rows with a field made safe before queuing (`sanitised`) and rows the database refused alone (`setAside`).
   */
  readonly stats = {
    batches: 0,
    rows: 0,
    flushes: 0,
    failures: 0,
    lastFlushMs: 0,
    maxFlushMs: 0,
    maxHandOverMs: 0,
    sanitised: 0,
    setAside: 0,
  }

  constructor(
    setup: WriterSetup,
    private readonly options: RecorderOptions,
    private readonly logger: Logger,
  ) {
    this.worker = new Worker(writerFile, { workerData: setup })
    this.worker.on('message', (reply: WriterReply) => this.acknowledge(reply))
    this.worker.on('error', (error) => this.logger.error('usage writer thread failed', { err: error }))
    this.worker.unref()
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs)
    this.timer.unref()
  }

  record(row: UsageRow): void {
    const wrong = checkUsageRow(row, Date.now())
    if (wrong) {
      this.stats.sanitised++
      this.logger.warn('usage row had fields that could not be stored; recorded with them made safe', {
        requestId: row.requestId,
        fields: wrong.join(','),
      })
    }
    this.queue.push(row)
    if (this.queue.length >= this.options.flushRows && !this.flushScheduled) {
      // Not now: the request that filled the queue should not pay for the hand-over.
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Rows recorded and not yet handed to the writer. */
  get queued(): number {
    return this.queue.length
  }

  /** Rows recorded and not yet written. */
  get pending(): number {
    let rows = this.queue.length
    for (const batch of this.inFlight.values()) rows += batch.length
    return rows
  }

  /** Hands what is queued to the writer thread. */
  flush(): void {
    this.flushScheduled = false
    if (this.queue.length === 0) return
    const batch = this.queue
    this.queue = []
    const id = ++this.nextId
    const started = performance.now()
    this.inFlight.set(id, batch)
    this.worker.postMessage({ id, rows: batch })
    this.stats.batches++
    this.stats.maxHandOverMs = Math.max(this.stats.maxHandOverMs, performance.now() - started)
  }

  /**
   * Resolves once everything recorded so far is written. Batches the database refused (another process holding its
   * write lock past busy_timeout) are tried again until `deadlineMs`; what is still unwritten then is reported lost.
   */
  async drain(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs
    for (;;) {
      this.flush()
      if (this.inFlight.size > 0) await this.idle()
      if (this.queue.length === 0) return
      if (Date.now() >= deadline) {
        this.logger.error('usage rows could not be written and are lost', { rows: this.queue.length })
        this.queue = []
        return
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /**
   * Waits at most `timeoutMs` for the rows recorded so far to be written, and gives up on none (unlike drain, which
   * ends a shutdown): a usage query that wants the caller's latest requests must not hang, nor cost anyone a row.
   */
  async settled(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      this.flush()
      if (this.inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))
        await Promise.race([this.idle(), timeout])
        clearTimeout(timer)
      }
      if (this.queue.length === 0 || Date.now() >= deadline) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  private idle(): Promise<void> {
    // The thread does not keep the process alive by itself; someone waiting on it should.
    this.worker.ref()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private acknowledge(reply: WriterReply): void {
    const batch = this.inFlight.get(reply.id)
    this.inFlight.delete(reply.id)
    this.stats.rows += reply.written
    this.stats.lastFlushMs = reply.ms
    this.stats.maxFlushMs = Math.max(this.stats.maxFlushMs, reply.ms)
    for (const { index, error } of reply.setAside ?? []) {
      // Never tried again: the log line is its record (every field is bounded, so the line is too).
      this.stats.setAside++
      this.logger.error('usage row refused by the database; set aside', {
        requestId: batch?.[index]?.requestId,
        error,
        row: batch?.[index],
      })
    }
    if (reply.retry !== undefined && reply.retry.length > 0) {
      // Kept for the next flush (the database may be busy with a long CLI write); bounded so memory cannot run away.
      this.stats.failures++
      const rows = batch ? reply.retry.map((index) => batch[index]!) : []
      if (this.queue.length + rows.length <= 100 * this.options.flushRows) this.queue = rows.concat(this.queue)
      this.logger.error('could not write usage rows; will retry', { rows: rows.length, error: reply.error })
    } else {
      this.stats.flushes++
    }
    if (this.inFlight.size === 0 && this.idleWaiters.length > 0) {
      this.worker.unref()
      for (const wake of this.idleWaiters.splice(0)) wake()
    }
  }

  /** Writes everything left, then stops the writer thread. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.drain()
    await this.worker.terminate()
  }
}
