// The api_keys table: only the SHA-256 of each key, who owns it, what it may reach and when it stops working.
import type { Role } from '../auth/permissions.js'
import type { ChangeFeed } from './changeFeed.js'
import type { Db } from './database.js'

export interface ApiKey {
  id: string
  userId: number
  username: string
  prefix: string
  name: string | null
  description: string | null
  /** Model allow-list (exact names and `family:*`); null = every model. */
  models: string[] | null
  createdAt: number
  expiresAt: number | null
  revokedAt: number | null
  lastUsedAt: number | null
  /** Set on rotation: the successor's id. */
  replacedBy: string | null
  /** Set on rotation: when this key stops working. */
  validUntil: number | null
}

/** A key as the verifier needs it: the key, its owner's state and role. */
export interface KeyOwner extends ApiKey {
  hash: Buffer
  role: Role
  userActive: boolean
}

export interface NewApiKey {
  id: string
  userId: number
  hash: Buffer
  prefix: string
  name?: string | null
  description?: string | null
  models?: string[] | null
  expiresAt?: number | null
}

export class KeyError extends Error {
  constructor(
    readonly code: 'key_not_found' | 'key_not_active',
    message: string,
  ) {
    super(message)
  }
}

const columns = `k.id, k.user_id AS userId, u.username, k.prefix, k.name, k.description, k.models,
  k.created_at AS createdAt, k.expires_at AS expiresAt, k.revoked_at AS revokedAt, k.last_used_at AS lastUsedAt,
  k.replaced_by AS replacedBy, k.valid_until AS validUntil`

function toKey<T extends ApiKey>(row: any): T | undefined {
  if (!row) return undefined
  const key = { ...row, models: row.models === null ? null : (JSON.parse(row.models) as string[]) }
  if ('userActive' in row) key.userActive = row.userActive === 1
  return key as T
}

export class KeyStore {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly feed: ChangeFeed,
    private readonly now: () => number = Date.now,
  ) {
    const from = 'FROM api_keys k JOIN users u ON u.id = k.user_id'
    this.statements = {
      insert: db.prepare(`INSERT INTO api_keys (id, user_id, hash, prefix, name, description, models, created_at,
        expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      byHash: db.prepare(`SELECT ${columns}, k.hash, u.role, u.active AS userActive ${from} WHERE k.hash = ?`),
      byId: db.prepare(`SELECT ${columns} ${from} WHERE k.id = ?`),
      list: db.prepare(`SELECT ${columns} ${from} ORDER BY u.username, k.created_at`),
      listForUser: db.prepare(`SELECT ${columns} ${from} WHERE k.user_id = ? ORDER BY k.created_at`),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      retire: db.prepare('UPDATE api_keys SET replaced_by = ?, valid_until = ? WHERE id = ?'),
      touch: db.prepare(
        'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
      ),
    }
  }

  create(key: NewApiKey): ApiKey {
    return this.db
      .transaction(() => {
        this.insert(key)
        this.feed.record('key_created', this.now(), { keyId: key.id, userId: key.userId })
        return this.get(key.id)
      })
      .immediate()
  }

  private insert(key: NewApiKey): void {
    this.statements.insert.run(
      key.id,
      key.userId,
      key.hash,
      key.prefix,
      key.name ?? null,
      key.description ?? null,
      key.models ? JSON.stringify(key.models) : null,
      this.now(),
      key.expiresAt ?? null,
    )
  }

  /** The one lookup on the request path (on a cache miss): by the SHA-256 of the presented key. */
  findByHash(hash: Buffer): KeyOwner | undefined {
    return toKey<KeyOwner>(this.statements.byHash.get(hash))
  }

  find(id: string): ApiKey | undefined {
    return toKey(this.statements.byId.get(id))
  }

  get(id: string): ApiKey {
    const key = this.find(id)
    if (!key) throw new KeyError('key_not_found', `no API key with id "${id}"`)
    return key
  }

  list(userId?: number): ApiKey[] {
    const rows = userId === undefined ? this.statements.list.all() : this.statements.listForUser.all(userId)
    return rows.map((row) => toKey<ApiKey>(row)!)
  }

  revoke(id: string): ApiKey {
    return this.db
      .transaction(() => {
        const key = this.get(id)
        if (key.revokedAt !== null) throw new KeyError('key_not_active', `API key ${id} is already revoked`)
        const at = this.now()
        this.statements.revoke.run(at, id)
        this.feed.record('key_revoked', at, { keyId: id, userId: key.userId })
        return this.get(id)
      })
      .immediate()
  }

  /** Issues `successor` for key `id` (same owner, name, models, expiry); the old key works until `validUntil`. */
  rotate(id: string, successor: Omit<NewApiKey, 'userId'>, validUntil: number): ApiKey {
    return this.db
      .transaction(() => {
        const old = this.get(id)
        const at = this.now()
        if (old.revokedAt !== null || old.replacedBy !== null || (old.expiresAt !== null && old.expiresAt <= at)) {
          throw new KeyError('key_not_active', `API key ${id} is revoked, expired or already rotated`)
        }
        this.insert({
          name: old.name,
          description: old.description,
          models: old.models,
          expiresAt: old.expiresAt,
          ...successor,
          userId: old.userId,
        })
        this.statements.retire.run(successor.id, validUntil, id)
        this.feed.record('key_rotated', at, { keyId: id, userId: old.userId })
        return this.get(successor.id)
      })
      .immediate()
  }

  /** Writes a batch of last-use times in one transaction (never per request). */
  touchMany(lastUsed: Map<string, number>): void {
    if (lastUsed.size === 0) return
    this.db.transaction(() => {
      for (const [id, at] of lastUsed) this.statements.touch.run(at, id, at)
    })()
  }
}
