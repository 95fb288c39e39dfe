// The api_keys table: only the SHA-256 of each key, who owns it, what it may reach and when it stops working.
import type { Role } from '../auth/permissions.js'
import {
  BoundsError,
  checkInstant,
  checkOptionalText,
  checkText,
  keyDescriptionBounds,
  keyNameBounds,
  longestLifetimeMs,
  maxLiveKeysPerUser,
  maxModelPatterns,
  modelPatternBounds,
} from './bounds.js'
import { rangeProblem } from '../limits/addressList.js'
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
  /** The API key that made this one through /auth/v1/keys; null when a login session or the CLI made it. */
  createdByKey: string | null
  /** Whether requests with this key must be signed (its secret is only in KeyOwner, never in a view). */
  signed: boolean
  /** Client address ranges the key may be used from; null = every address. */
  allowIp: string[] | null
}

/** A key as the verifier needs it: the key, its owner's state and role. */
export interface KeyOwner extends ApiKey {
  hash: Buffer
  role: Role
  userActive: boolean
  /** The owner's own weight under contention (users.weight). */
  weight: number
  /** The request-signing secret (HMAC key) when the key is signed; null otherwise. */
  signingSecret: Buffer | null
  /** The owner's address allow-list (users.allow_ip); null = every address. */
  userAllowIp: string[] | null
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
  createdByKey?: string | null
  /** The signing secret for a key that requires signed requests. */
  signingSecret?: Buffer | null
  allowIp?: string[] | null
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
  k.replaced_by AS replacedBy, k.valid_until AS validUntil, k.created_by_key AS createdByKey,
  k.signing_secret IS NOT NULL AS signed, k.allow_ip AS allowIp`

function toKey<T extends ApiKey>(row: any): T | undefined {
  if (!row) return undefined
  const key = {
    ...row,
    models: row.models === null ? null : readList(row.models),
    signed: row.signed === 1,
    allowIp: row.allowIp === null ? null : readList(row.allowIp),
  }
  if ('userActive' in row) key.userActive = row.userActive === 1
  if ('userAllowIp' in row) key.userAllowIp = row.userAllowIp === null ? null : readList(row.userAllowIp)
  return key as T
}

/** A stored list (models, address ranges); one that cannot be read allows nothing (fails closed) rather than failing every read. */
export function readList(text: string): string[] {
  try {
    const models: unknown = JSON.parse(text)
    if (Array.isArray(models) && models.every((model) => typeof model === 'string')) return models
  } catch {
    // fall through
  }
  return []
}

/** The bounds every stored key field keeps, whoever asks (the /auth API, the CLI). */
function checkNewKey(key: NewApiKey, now: number): void {
  checkOptionalText('name', key.name, keyNameBounds)
  checkOptionalText('description', key.description, keyDescriptionBounds)
  if (key.models) {
    if (key.models.length > maxModelPatterns) {
      throw new BoundsError(`"models" has ${key.models.length} entries, at most ${maxModelPatterns}`)
    }
    for (const model of key.models) checkText('models[]', model, modelPatternBounds)
  }
  if (key.expiresAt !== null && key.expiresAt !== undefined) checkInstant('expires_at', key.expiresAt, now)
  if (key.allowIp) checkAllowIp(key.allowIp)
}

/** An address allow-list as stored: at most maxAddressRanges CIDR ranges. */
export function checkAllowIp(ranges: readonly string[]): void {
  const problem = rangeProblem(ranges)
  if (problem) throw new BoundsError(`"allow_ip": ${problem}`)
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
        expires_at, created_by_key, signing_secret, allow_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      setAllowIp: db.prepare('UPDATE api_keys SET allow_ip = ? WHERE id = ?'),
      // Whether key ? was made, directly or through others, by key ?.
      madeBy: db.prepare(`WITH RECURSIVE chain (id, parent) AS (
          SELECT id, created_by_key FROM api_keys WHERE id = ?
          UNION SELECT k.id, k.created_by_key FROM api_keys k JOIN chain c ON k.id = c.parent)
        SELECT 1 FROM chain WHERE parent = ? LIMIT 1`),
      // The keys that made key ?, nearest first (bounded: a chain longer than 100 is cut).
      makersOf: db
        .prepare(
          `WITH RECURSIVE chain (id, parent, depth) AS (
            SELECT id, created_by_key, 0 FROM api_keys WHERE id = ?
            UNION SELECT k.id, k.created_by_key, c.depth + 1 FROM api_keys k JOIN chain c ON k.id = c.parent
              WHERE c.depth < 100)
          SELECT id FROM chain WHERE depth > 0 ORDER BY depth`,
        )
        .pluck(),
      byHash: db.prepare(
        `SELECT ${columns}, k.hash, u.role, u.active AS userActive, u.weight, k.signing_secret AS signingSecret,
          u.allow_ip AS userAllowIp ${from} WHERE k.hash = ?`,
      ),
      byId: db.prepare(`SELECT ${columns} ${from} WHERE k.id = ?`),
      ownerById: db.prepare(
        `SELECT ${columns}, k.hash, u.role, u.active AS userActive, u.weight, k.signing_secret AS signingSecret,
          u.allow_ip AS userAllowIp ${from} WHERE k.id = ?`,
      ),
      list: db.prepare(`SELECT ${columns} ${from} ORDER BY u.username, k.created_at`),
      liveForUser: db
        .prepare(
          'SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
        )
        .pluck(),
      listForUser: db.prepare(`SELECT ${columns} ${from} WHERE k.user_id = ? ORDER BY k.created_at`),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      // Every live key made, directly or through keys it made, by key ?: revoked with it.
      revokeMade: db.prepare(`UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND id IN (
          WITH RECURSIVE made (id) AS (
            SELECT id FROM api_keys WHERE created_by_key = ?
            UNION SELECT k.id FROM api_keys k JOIN made m ON k.created_by_key = m.id)
          SELECT id FROM made)
        RETURNING id`),
      // A rotated key's successor is the same credential: the keys the old one made are its.
      reparent: db.prepare('UPDATE api_keys SET created_by_key = ? WHERE created_by_key = ?'),
      // The successor of a rotated key is the same credential: it gets the limits set on the old key (both are
      // limited while the old one is in its grace).
      copyLimits: db.prepare(`INSERT INTO limits (subject_type, subject, gateway, model, rpm, rph, rpd, tpm, tph, tpd,
          concurrency, daily_tokens, monthly_tokens, daily_requests, monthly_requests, updated_at)
        SELECT 'key', ?, gateway, model, rpm, rph, rpd, tpm, tph, tpd, concurrency, daily_tokens, monthly_tokens,
          daily_requests, monthly_requests, ? FROM limits WHERE subject_type = 'key' AND subject = ?`),
      retire: db.prepare('UPDATE api_keys SET replaced_by = ?, valid_until = ? WHERE id = ?'),
      touch: db.prepare(
        'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
      ),
    }
  }

  create(key: NewApiKey): ApiKey {
    return this.db
      .transaction(() => {
        // Counted inside the write transaction, so two makers at once cannot both pass the bound.
        const live = this.statements.liveForUser.get(key.userId, this.now()) as number
        if (live >= maxLiveKeysPerUser) {
          throw new BoundsError(
            `this user already holds ${live} live keys, the most one user may (${maxLiveKeysPerUser}); revoke some first`,
          )
        }
        this.insert(key)
        this.feed.record('key_created', this.now(), { keyId: key.id, userId: key.userId })
        return this.get(key.id)
      })
      .immediate()
  }

  private insert(key: NewApiKey): void {
    checkNewKey(key, this.now())
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
      key.createdByKey ?? null,
      key.signingSecret ?? null,
      key.allowIp ? JSON.stringify(key.allowIp) : null,
    )
  }

  /**
   * Sets the key's address allow-list (null: every address). Recorded in the change feed like any key change: a
   * running server forgets the key's cached principal, so the next request is checked against the new list.
   */
  setAllowIp(id: string, allowIp: string[] | null): ApiKey {
    if (allowIp) checkAllowIp(allowIp)
    return this.db
      .transaction(() => {
        const key = this.get(id)
        this.statements.setAllowIp.run(allowIp ? JSON.stringify(allowIp) : null, id)
        this.feed.record('key_changed', this.now(), { keyId: id, userId: key.userId }, { fields: ['allow_ip'] })
        return this.get(id)
      })
      .immediate()
  }

  /** Whether key `id` was made by key `ancestor`, directly or through keys it made. */
  madeBy(id: string, ancestor: string): boolean {
    return this.statements.madeBy.get(id, ancestor) !== undefined
  }

  /** The keys that made key `id`, nearest first: its maker, its maker's maker, ... */
  makersOf(id: string): string[] {
    return this.statements.makersOf.all(id) as string[]
  }

  /** The one lookup on the request path (on a cache miss): by the SHA-256 of the presented key. */
  findByHash(hash: Buffer): KeyOwner | undefined {
    return toKey<KeyOwner>(this.statements.byHash.get(hash))
  }

  /** A key as the verifier reads it, by id: the work the gateway does later for the key's holder (a batch). */
  findOwner(id: string): KeyOwner | undefined {
    return toKey<KeyOwner>(this.statements.ownerById.get(id))
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
        // A key made by a key never outlives it: what it made (and what those made) ends with it.
        for (const made of this.statements.revokeMade.all(at, id) as { id: string }[]) {
          this.feed.record('key_revoked', at, { keyId: made.id, userId: key.userId }, { with_key: id })
        }
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
        checkInstant('valid_until', validUntil, at)
        this.insert({
          name: old.name,
          description: old.description,
          models: old.models,
          // An expiry written before bounds existed is brought within them, not copied.
          expiresAt: old.expiresAt === null ? null : Math.min(Math.trunc(old.expiresAt), at + longestLifetimeMs),
          createdByKey: old.createdByKey,
          allowIp: old.allowIp,
          ...successor,
          userId: old.userId,
        })
        this.statements.retire.run(successor.id, validUntil, id)
        this.statements.reparent.run(successor.id, id)
        if (this.statements.copyLimits.run(successor.id, at, id).changes > 0) {
          this.feed.record('limits_changed', at, {}, { action: 'copied', subject_type: 'key', subject: successor.id })
        }
        this.feed.record('key_rotated', at, { keyId: id, userId: old.userId }, { successor: successor.id })
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
