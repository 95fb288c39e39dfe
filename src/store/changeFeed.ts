// The change feed: every write that affects authentication appends a row in the same transaction, and a running
// server that sees PRAGMA data_version move reads the new rows and forgets what they name. This is how a CLI process
// revokes a key in a running server without a restart or a round-trip to it.
import type { Db } from './database.js'

export type ChangeKind =
  | 'key_created'
  | 'key_revoked'
  | 'key_rotated'
  | 'key_changed'
  | 'user_created'
  | 'user_changed'
  | 'user_disabled'
  | 'user_enabled'
  | 'user_deleted'
  | 'role_changed'
  | 'limits_changed'
  | 'token_revoked'
  /** The response cache was purged (detail: the model; userId: the user), for running servers' memory tiers. */
  | 'cache_purged'

export interface Change {
  id: number
  at: number
  kind: ChangeKind
  keyId: string | null
  userId: number | null
  /** A revoked access token's jti. */
  tokenId: string | null
  /** What else the change names, as JSON (a limit rule's target, a successor key, a new role), or null. */
  detail: string | null
}

export class ChangeFeed {
  private readonly insert
  private readonly since
  private readonly latest
  /** Told (after the writing transaction) about changes written through this connection, which data_version misses. */
  onLocalChange: (() => void) | undefined
  private notifying = false

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      'INSERT INTO auth_changes (at, kind, key_id, user_id, token_id, detail) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.since = db.prepare(
      `SELECT id, at, kind, key_id AS keyId, user_id AS userId, token_id AS tokenId, detail
        FROM auth_changes WHERE id > ? ORDER BY id LIMIT ?`,
    )
    this.latest = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM auth_changes').pluck()
  }

  /** Call inside the transaction of the write it describes; `detail` is what the event of the change reports. */
  record(
    kind: ChangeKind,
    at: number,
    subject: { keyId?: string; userId?: number; tokenId?: string },
    detail?: Record<string, unknown>,
  ): void {
    const { keyId = null, userId = null, tokenId = null } = subject
    this.insert.run(at, kind, keyId, userId, tokenId, detail ? JSON.stringify(detail) : null)
    if (this.onLocalChange && !this.notifying) {
      this.notifying = true
      queueMicrotask(() => {
        this.notifying = false
        this.onLocalChange?.()
      })
    }
  }

  /** At most `limit` changes after `id`, oldest first. */
  changesSince(id: number, limit = -1): Change[] {
    return this.since.all(id, limit) as Change[]
  }

  latestId(): number {
    return this.latest.get() as number
  }
}

/**
 * Polls PRAGMA data_version (which moves only when another connection commits) and hands the new change rows to
 * `onChanges`. Cheap enough to run every few hundred milliseconds.
 */
export class ChangeWatcher {
  private lastId: number
  private lastVersion: number
  private timer: NodeJS.Timeout | undefined
  private readonly version

  constructor(
    db: Db,
    private readonly feed: ChangeFeed,
    private readonly onChanges: (changes: Change[]) => void,
  ) {
    this.version = db.prepare('PRAGMA data_version').pluck()
    this.lastVersion = this.version.get() as number
    this.lastId = feed.latestId()
    feed.onLocalChange = () => this.poll(true)
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.poll(), intervalMs)
    this.timer.unref()
  }

  /** Reads changes if another process committed since the last look (or, with `force`, in any case). */
  poll(force = false): void {
    const version = this.version.get() as number
    if (version === this.lastVersion && !force) return
    this.lastVersion = version
    const changes = this.feed.changesSince(this.lastId)
    if (changes.length === 0) return
    this.lastId = changes.at(-1)!.id
    this.onChanges(changes)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }
}
