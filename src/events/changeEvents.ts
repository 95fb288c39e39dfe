// Changes written to the database — by this server's admin API or by the CLI in another process — become events by
// way of the change feed: each change row is read after a cursor kept in the database, turned into its event, and
// queued for the webhooks in the same transaction that moves the cursor. Nothing is lost to a crash (the cursor did
// not move, the rows are read again) and nothing is queued twice (an event's id is its change row's).
import type { Logger } from '../logger.js'
import type { Change } from '../store/changeFeed.js'
import type { Store } from '../store/store.js'
import type { EventPayloads, EventType, GatewayEvent, KeyRef, UserRef } from './events.js'
import { withBusyTimeout } from './outbox.js'
import type { WebhookStore } from './webhookStore.js'

const batch = 500

export class ChangeEvents {
  private readonly cursor
  private readonly moveCursor
  private retry: NodeJS.Timeout | undefined

  constructor(
    private readonly store: Store,
    private readonly webhooks: WebhookStore,
    private readonly logger: Logger,
    private readonly onQueued: () => void,
  ) {
    this.cursor = store.db.prepare(`SELECT position FROM event_cursor WHERE name = 'change_feed'`).pluck()
    this.moveCursor = store.db.prepare(`UPDATE event_cursor SET position = ? WHERE name = 'change_feed'`)
  }

  /**
   * Turns every change after the cursor into events (call on start, whenever the feed moves, and now and then in
   * case a run failed). Takes the write lock only when there is something to turn.
   */
  run(wait = false): void {
    try {
      if (this.store.feed.changesSince(this.cursor.get() as number, 1).length === 0) return
      let queued = 0
      for (;;) {
        // Never waits for the write lock on the event loop: a failed run leaves the rows after the cursor for the
        // next one (the next change, or the periodic catch-up).
        const done = withBusyTimeout(this.store.db, wait, () =>
          this.store.db
            .transaction(() => {
              const changes = this.store.feed.changesSince(this.cursor.get() as number, batch)
              if (changes.length === 0) return true
              const events = changes.map((change) => this.eventOf(change)).filter((event) => event !== undefined)
              queued += this.webhooks.enqueue(events)
              this.moveCursor.run(changes.at(-1)!.id)
              return changes.length < batch
            })
            .immediate(),
        )
        if (done) break
      }
      if (queued > 0) this.onQueued()
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') {
        this.logger.warn('could not turn database changes into events; retrying at the next change', { err: error })
        return
      }
      // Another writer (the usage thread, a CLI) holds the lock for a moment: try again soon, not at the catch-up.
      this.logger.debug('database locked; turning changes into events shortly')
      this.retry ??= setTimeout(() => {
        this.retry = undefined
        this.run()
      }, 100)
      this.retry.unref()
    }
  }

  private eventOf(change: Change): GatewayEvent | undefined {
    const detail = change.detail ? (JSON.parse(change.detail) as Record<string, any>) : {}
    const event = <T extends EventType>(type: T, data: EventPayloads[T]): GatewayEvent => ({
      // The time too: after an older backup is restored, the feed's numbers are given out again to other changes, and
      // a receiver that drops repeated ids would drop those.
      id: `evt_change_${change.id}_${change.at}`,
      type,
      time: change.at,
      data,
    })
    switch (change.kind) {
      case 'key_created':
        return event('key.created', this.keyRef(change))
      case 'key_revoked':
        return event('key.revoked', { ...this.keyRef(change), with_key: detail.with_key ?? null })
      case 'key_rotated':
        return event('key.rotated', { ...this.keyRef(change), successor: detail.successor ?? null })
      case 'user_created':
        return event('user.created', { ...this.userRef(change.userId!, detail.username), role: detail.role ?? null })
      case 'user_disabled':
        return event('user.disabled', this.userRef(change.userId!, detail.username))
      case 'user_enabled':
        return event('user.enabled', this.userRef(change.userId!, detail.username))
      case 'user_deleted':
        return event('user.deleted', this.userRef(change.userId!, detail.username))
      case 'role_changed':
        return event('user.role_changed', {
          ...this.userRef(change.userId!, detail.username),
          role: detail.role ?? null,
        })
      case 'user_changed':
        return event('user.changed', {
          ...this.userRef(change.userId!, detail.username),
          fields: Array.isArray(detail.fields) ? detail.fields : [],
        })
      case 'limits_changed':
        return event('limit.changed', {
          action: detail.action ?? 'set',
          subject_type: detail.subject_type ?? 'unknown',
          subject: detail.subject ?? '',
          gateway: detail.gateway ?? null,
          model: detail.model ?? null,
          values: detail.values ?? null,
        })
      default:
        return undefined
    }
  }

  /** Names as they are when the change is read, else as the change recorded them (a deleted user's). */
  private userRef(userId: number, recorded?: string): UserRef {
    return { user_id: userId, username: this.store.users.byId(userId)?.username ?? recorded ?? null }
  }

  private keyRef(change: Change): KeyRef {
    const key = this.store.keys.find(change.keyId!)
    return {
      key_id: change.keyId!,
      key_name: key?.name ?? null,
      user_id: change.userId ?? key?.userId ?? 0,
      username: key?.username ?? (change.userId === null ? null : this.userRef(change.userId).username),
    }
  }
}
