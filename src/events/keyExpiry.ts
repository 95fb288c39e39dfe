// key.expired: a periodic look for keys past their expiry that were not announced yet. The announcement is recorded
// in the same transaction that queues the event, so each key's expiry goes out once, across restarts.
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import type { GatewayEvent } from './events.js'
import { withBusyTimeout } from './outbox.js'
import type { WebhookStore } from './webhookStore.js'

interface ExpiredKey {
  id: string
  name: string | null
  userId: number
  username: string
  expiresAt: number
}

export class KeyExpiry {
  private readonly statements
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly webhooks: WebhookStore,
    private readonly logger: Logger,
    private readonly onQueued: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      expired: db.prepare(`SELECT k.id, k.name, k.user_id AS userId, u.username, k.expires_at AS expiresAt
        FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.expires_at IS NOT NULL AND k.expires_at <= ? AND k.revoked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM key_expiry_events e WHERE e.key_id = k.id)
        ORDER BY k.expires_at LIMIT 500`),
      announced: db.prepare('INSERT OR IGNORE INTO key_expiry_events (key_id, at) VALUES (?, ?)'),
    }
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.check(), intervalMs)
    this.timer.unref()
    this.check()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** Announces every key that expired since the last look; returns how many. */
  check(): number {
    try {
      const at = this.now()
      let queued = 0
      // Never waits for the write lock on the event loop: a locked database just means the next check announces them.
      const keys = withBusyTimeout(this.db, false, () =>
        this.db
          .transaction(() => {
            const expired = this.statements.expired.all(at) as ExpiredKey[]
            const events: GatewayEvent[] = expired.map((key) => {
              this.statements.announced.run(key.id, at)
              return {
                id: `evt_expired_${key.id}`,
                type: 'key.expired',
                time: key.expiresAt,
                data: {
                  key_id: key.id,
                  key_name: key.name,
                  user_id: key.userId,
                  username: key.username,
                  expired_at: new Date(key.expiresAt).toISOString(),
                },
              }
            })
            queued = this.webhooks.enqueue(events)
            return expired.length
          })
          .immediate(),
      )
      if (queued > 0) this.onQueued()
      return keys
    } catch (error) {
      this.logger.warn('could not announce expired keys', { err: error })
      return 0
    }
  }
}
