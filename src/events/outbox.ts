// The outbox's front door in the server: events emitted during a request are queued in memory and written in one
// transaction on the next turn of the event loop (setImmediate), so emitting never waits on the disk. What a kill -9
// can lose is that one turn's queue (documented: request.failed, backend.*, login.* and quota.threshold events of the
// last few milliseconds); admin changes do not pass here — they are durable in the change feed (changeEvents.ts).
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import type { GatewayEvent } from './events.js'
import type { WebhookStore } from './webhookStore.js'

/** Work done inside the flush transaction (a dedup insert), returning the events it decides to send. */
export type DeferredEvents = () => GatewayEvent[]

const perFlush = 500
/** The first wait after a flush found the database locked; it doubles up to `maxRetryMs`. */
const firstRetryMs = 50
const maxRetryMs = 1000

export class Outbox {
  private events: GatewayEvent[] = []
  private deferred: DeferredEvents[] = []
  private scheduled: NodeJS.Immediate | undefined
  /** Set while waiting out a locked database: new events wait in memory rather than each trying the lock again. */
  private retryTimer: NodeJS.Timeout | undefined
  private retryMs = firstRetryMs
  readonly stats = { queued: 0, dropped: 0, writeErrors: 0 }

  constructor(
    private readonly db: Db,
    private readonly webhooks: WebhookStore,
    private readonly logger: Logger,
    /** Told after a flush queued deliveries (the deliverer looks at once). */
    private readonly onQueued: () => void,
    /**
     * The most events and deferred work held in memory, together: beyond it (a flood of failed logins while the disk is
     * stuck) they are dropped.
     */
    private readonly maxQueued = 10_000,
  ) {}

  /** The bus subscriber: O(1), no I/O. */
  readonly add = (event: GatewayEvent): void => {
    if (this.pending >= this.maxQueued) {
      this.stats.dropped++
      return
    }
    this.events.push(event)
    this.schedule()
  }

  defer(work: DeferredEvents): void {
    if (this.pending >= this.maxQueued) {
      this.stats.dropped++
      return
    }
    this.deferred.push(work)
    this.schedule()
  }

  /**
   * Writes what is queued now. On the event loop (`wait` false) it never waits for the write lock: another process
   * holding it (a CLI, a sqlite3 shell in a transaction) would otherwise stall every request for busy_timeout on each
   * event. Shutdown waits (`wait` true), as every other write does.
   */
  flush(wait = false): void {
    if (this.scheduled) clearImmediate(this.scheduled)
    this.scheduled = undefined
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    if (this.events.length === 0 && this.deferred.length === 0) return
    // At most `perFlush` events per transaction: a burst is written over several turns, never one long stall.
    const events = this.events.length > perFlush ? this.events.splice(0, perFlush) : this.events
    const deferred = this.deferred.length > perFlush ? this.deferred.splice(0, perFlush) : this.deferred
    if (events === this.events) this.events = []
    if (deferred === this.deferred) this.deferred = []
    let queued = 0
    try {
      queued = withBusyTimeout(this.db, wait, () =>
        this.db
          .transaction(() => {
            // A copy: if the transaction fails, the deferred work runs again and must not find its events here.
            const all = deferred.length === 0 ? events : events.slice()
            for (const work of deferred) all.push(...work())
            return this.webhooks.enqueue(all)
          })
          .immediate(),
      )
    } catch (error) {
      // The database is locked (or broken): keep the events and try again after a growing pause.
      this.stats.writeErrors++
      const locked = (error as { code?: string }).code === 'SQLITE_BUSY'
      this.events = events.concat(this.events).slice(0, this.maxQueued)
      this.deferred = deferred.concat(this.deferred)
      // A lock held by another writer is expected now and then (the usage thread, a CLI): not worth a warning.
      if (locked) this.logger.debug('database locked; events wait in memory', { queued: this.pending })
      else this.logger.warn('could not write events to the webhook outbox; retrying', { err: error })
      this.retryTimer = setTimeout(() => this.flush(), this.retryMs)
      this.retryTimer.unref()
      this.retryMs = Math.min(this.retryMs * 2, maxRetryMs)
      return
    }
    this.retryMs = firstRetryMs
    this.stats.queued += queued
    if (queued > 0) this.onQueued()
    if (this.events.length > 0 || this.deferred.length > 0) this.schedule()
  }

  /** Writes everything queued (shutdown); stops at the first failure. */
  flushAll(): void {
    for (let before = Infinity; this.pending > 0 && this.pending < before;) {
      before = this.pending
      this.flush(true)
    }
  }

  /** Events and deferred work not yet written. */
  get pending(): number {
    return this.events.length + this.deferred.length
  }

  private schedule(): void {
    if (this.retryTimer) return
    this.scheduled ??= setImmediate(() => this.flush())
  }
}

/** Runs `work` with the connection's busy timeout as it is (`wait`) or at 0 (fail at once if the lock is taken). */
export function withBusyTimeout<T>(db: Db, wait: boolean, work: () => T): T {
  if (wait) return work()
  const configured = db.pragma('busy_timeout', { simple: true }) as number
  db.pragma('busy_timeout = 0')
  try {
    return work()
  } finally {
    db.pragma(`busy_timeout = ${configured}`)
  }
}
