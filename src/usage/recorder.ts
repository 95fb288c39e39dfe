// Records usage off the hot path: a request's end checks its row and writes it into a ring in shared memory
// (usageRing.ts: numbers and interned strings, no structured clone, no allocation); every flush_interval (or sooner
// once flush_rows are waiting) the writer thread is told how far to read, and writes the rows with their hourly
// rollups in one transaction of multi-row INSERTs on its own connection. The event loop pays a few stores per row and
// one small message per flush. A crash loses at most what was not yet written; SQLite's WAL keeps the file consistent.
// No row can poison the writer: each is checked (and made safe) before it is queued, and one the database still
// refuses is set aside alone — logged with its request id and counted — while the rest of its batch is written.
// The ring full (the writer stalled by a long CLI write, or far behind): rows take the old path, queued on the event
// loop and posted with the next flush (a structured clone); never blocked, never dropped, counted in `overflowRows`.
import { Worker } from 'node:worker_threads'
import type { Logger } from '../logger.js'
import type { UsageRow } from './usageRow.js'
import { checkUsageRow } from './usageRowCheck.js'
import { createRingMemory, RingWriter } from './usageRing.js'
import type { FlushReply, WriterRequest, WriterSetup } from './usageWriter.js'

export interface RecorderOptions {
  flushIntervalMs: number
  flushRows: number
}

// Run from source (tests), the writer is a .ts file that the same loader handles; built, it is .js.
const writerFile = new URL(`./usageWriter.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)

export class UsageRecorder {
  private readonly ring: RingWriter
  /** Rows that found the ring full, posted with the next flush. */
  private overflow: UsageRow[] = []
  /** The ring head last handed to the writer. */
  private flushedHead = 0
  private timer: NodeJS.Timeout | undefined
  private flushScheduled = false
  private readonly worker: Worker
  private nextId = 0
  /** Flushes handed to the writer and not yet acknowledged. */
  private inFlight = 0
  /** Rows the writer keeps to try again (as of its last reply). */
  private retrying = 0
  private recorded = 0
  private idleWaiters: (() => void)[] = []
  /** Resolves once the writer thread has opened the database (its start-up is not a flush's wait). */
  private readonly ready: Promise<void>
  private markReady: () => void = () => {}
  /**
   * For metrics and the bench: rows written, batches, the writer's time per batch, the event loop's hand-over time;
   * rows with a field made safe before queuing (`sanitised`), rows the database refused alone (`setAside`), rows that
   * found the ring full and were queued instead (`overflowRows`), rows given up on (`lost`: the database refused them
   * past the retry bound, or past a shutdown's deadline).
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
    overflowRows: 0,
    lost: 0,
  }

  constructor(
    setup: WriterSetup,
    private readonly options: RecorderOptions,
    private readonly logger: Logger,
  ) {
    const memory = createRingMemory()
    this.ring = new RingWriter(memory)
    this.worker = new Worker(writerFile, { workerData: { ...setup, ring: memory } })
    this.ready = new Promise((resolve) => (this.markReady = resolve))
    this.worker.on('message', (reply: FlushReply | 'ready') =>
      reply === 'ready' ? this.markReady() : this.acknowledge(reply),
    )
    this.worker.on('error', (error) => {
      // A thread that failed never says it is ready: waiters stop waiting for its start-up (rows stay pending).
      this.markReady()
      this.logger.error('usage writer thread failed', { err: error })
    })
    this.worker.unref()
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs)
    this.timer.unref()
  }

  readonly record = (row: UsageRow): void => {
    const wrong = checkUsageRow(row, Date.now())
    if (wrong) {
      this.stats.sanitised++
      this.logger.warn('usage row had fields that could not be stored; recorded with them made safe', {
        requestId: row.requestId,
        fields: wrong.join(','),
      })
    }
    this.recorded++
    if (!this.ring.push(row)) {
      if (this.overflow.length === 0) {
        this.logger.warn('usage ring full: rows are queued until the writer catches up', { rows: this.ring.used })
      }
      this.overflow.push(row)
      this.stats.overflowRows++
    }
    if (this.queued >= this.options.flushRows && !this.flushScheduled) {
      // Not now: the request that filled the queue should not pay for the hand-over.
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Rows recorded and not yet handed to the writer. */
  get queued(): number {
    return ((this.ring.head - this.flushedHead) >>> 0) + this.overflow.length
  }

  /** Rows recorded and not yet written (nor set aside or given up on). */
  get pending(): number {
    return this.recorded - this.stats.rows - this.stats.setAside - this.stats.lost
  }

  /** Tells the writer how far to read (and hands it the rows that found the ring full). */
  flush(): void {
    this.flushScheduled = false
    if (this.queued === 0 && this.retrying === 0) return
    const started = performance.now()
    const upto = this.ring.publish()
    const request: WriterRequest = { id: ++this.nextId, upto }
    if (this.overflow.length > 0) {
      request.rows = this.overflow
      this.overflow = []
    }
    this.flushedHead = upto
    this.inFlight++
    this.worker.postMessage(request)
    this.stats.batches++
    this.stats.maxHandOverMs = Math.max(this.stats.maxHandOverMs, performance.now() - started)
  }

  /**
   * Resolves once everything recorded so far is written. Rows the database refused (another process holding its
   * write lock past busy_timeout) are tried again until `deadlineMs`; what is still unwritten then is reported lost.
   */
  async drain(deadlineMs = 10_000): Promise<void> {
    const deadline = Date.now() + deadlineMs
    for (;;) {
      this.flush()
      if (this.inFlight > 0) await this.idle()
      if (this.pending === 0) return
      if (Date.now() >= deadline) {
        const lost = this.pending
        this.logger.error('usage rows could not be written and are lost', { rows: lost })
        this.stats.lost += lost
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
    // The thread's start-up (a few ms built, seconds when tests load it from TypeScript) is waited for first.
    let startup: NodeJS.Timeout | undefined
    await Promise.race([this.ready, new Promise((resolve) => (startup = setTimeout(resolve, 30_000)))])
    clearTimeout(startup)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      this.flush()
      if (this.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))
        await Promise.race([this.idle(), timeout])
        clearTimeout(timer)
      }
      if (this.pending === 0 || Date.now() >= deadline) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  private idle(): Promise<void> {
    // The thread does not keep the process alive by itself; someone waiting on it should.
    this.worker.ref()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private acknowledge(reply: FlushReply): void {
    this.inFlight--
    this.retrying = reply.retrying
    this.stats.rows += reply.written
    this.stats.lastFlushMs = reply.ms
    this.stats.maxFlushMs = Math.max(this.stats.maxFlushMs, reply.ms)
    for (const { row, error } of reply.setAside ?? []) {
      // Never tried again: the log line is its record (every field is bounded, so the line is too).
      this.stats.setAside++
      this.logger.error('usage row refused by the database; set aside', { requestId: row.requestId, error, row })
    }
    if (reply.lost > 0) {
      this.stats.lost += reply.lost
      this.logger.error('usage rows waited too long for the database and are lost', { rows: reply.lost })
    }
    if (reply.error !== undefined) {
      // Kept by the writer for the next flush (the database may be busy with a long CLI write).
      this.stats.failures++
      this.logger.error('could not write usage rows; will retry', { rows: reply.retrying, error: reply.error })
    } else {
      this.stats.flushes++
    }
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
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
