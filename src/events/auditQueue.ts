// The server's audit recorder: a row that belongs to a change is written inside the change's own transaction (the
// lock is held already, so the two commit together); a row that stands alone — a sign-in, a refused login, a logout,
// a sensitive read — never waits for the database's write lock on the event loop. Another process holding that lock
// (a CLI, a sqlite3 shell in a transaction) would otherwise stall every request for busy_timeout at each failed login.
// Such rows wait in memory, in order, and are written as soon as the lock is free; shutdown writes what is left.
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import type { AuditEntry, AuditRecorder } from './auditEntry.js'
import type { AuditLog } from './auditLog.js'
import { withBusyTimeout } from './outbox.js'

const firstRetryMs = 50
const maxRetryMs = 1000

export class AuditQueue implements AuditRecorder {
  private queued: AuditEntry[] = []
  private retryTimer: NodeJS.Timeout | undefined
  private retryMs = firstRetryMs
  readonly stats = { dropped: 0, writeErrors: 0 }

  constructor(
    private readonly db: Db,
    private readonly log: AuditLog,
    private readonly logger: Logger,
    /** The most rows held in memory while the database is locked; beyond it they are dropped (and counted). */
    private readonly maxQueued = 10_000,
  ) {}

  record(entry: AuditEntry): void {
    // Inside a change's transaction: the same transaction, or the change would commit without its row.
    if (this.db.inTransaction) return this.log.record(entry)
    if (this.queued.length >= this.maxQueued) {
      this.stats.dropped++
      this.logger.error('audit rows dropped: the database stayed locked', { dropped: this.stats.dropped })
      return
    }
    this.queued.push(entry)
    if (!this.retryTimer) this.flush(false)
  }

  /** Writes the queue in order; on the event loop it never waits for the lock (`wait` false). */
  flush(wait: boolean): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    while (this.queued.length > 0) {
      try {
        withBusyTimeout(this.db, wait, () => this.log.record(this.queued[0]!))
      } catch (error) {
        this.stats.writeErrors++
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') {
          this.logger.warn('could not write an audit row; retrying', { err: error })
        }
        if (wait) return
        this.retryTimer = setTimeout(() => this.flush(false), this.retryMs)
        this.retryTimer.unref()
        this.retryMs = Math.min(this.retryMs * 2, maxRetryMs)
        return
      }
      this.queued.shift()
    }
    this.retryMs = firstRetryMs
  }

  /** Rows waiting for the lock. */
  get pending(): number {
    return this.queued.length
  }
}
