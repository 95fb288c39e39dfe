// Login sessions: refresh tokens (only their SHA-256, grouped in families — one family is one login — so that a
// reused one can end them all), the denylist of access tokens revoked before they expire, and the logins ended early,
// whose access tokens are refused until the last of them would have expired.
import type { ChangeFeed } from './changeFeed.js'
import type { Db } from './database.js'

export interface RefreshToken {
  id: string
  familyId: string
  userId: number
  createdAt: number
  expiresAt: number
  usedAt: number | null
  revokedAt: number | null
}

export type NewRefreshToken = Omit<RefreshToken, 'createdAt' | 'usedAt' | 'revokedAt'> & { hash: Buffer }

/** Thrown inside a transaction to undo it. */
const rollback = new Error('rollback')

const columns = `id, family_id AS familyId, user_id AS userId, created_at AS createdAt, expires_at AS expiresAt,
  used_at AS usedAt, revoked_at AS revokedAt`

export class SessionStore {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly feed: ChangeFeed,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      // Written only while the user is active under the token epoch the caller checked (see add()).
      insert: db.prepare(`INSERT INTO refresh_tokens (id, family_id, user_id, hash, created_at, expires_at)
        SELECT ?, ?, id, ?, ?, ? FROM users WHERE id = ? AND token_epoch = ? AND active = 1`),
      byHash: db.prepare(`SELECT ${columns} FROM refresh_tokens WHERE hash = ?`),
      markUsed: db.prepare(
        'UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL',
      ),
      revokeFamily: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
      denyToken: db.prepare('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)'),
      deniedTokens: db.prepare('SELECT jti, expires_at AS expiresAt FROM revoked_tokens WHERE expires_at > ?'),
      denyLogin: db.prepare(`INSERT INTO revoked_logins (family_id, expires_at) VALUES (?, ?)
        ON CONFLICT (family_id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`),
      deniedLogins: db.prepare(
        'SELECT family_id AS familyId, expires_at AS expiresAt FROM revoked_logins WHERE expires_at > ?',
      ),
      prune: db.prepare('DELETE FROM revoked_tokens WHERE expires_at <= ?'),
      pruneLogins: db.prepare('DELETE FROM revoked_logins WHERE expires_at <= ?'),
      pruneRefresh: db.prepare('DELETE FROM refresh_tokens WHERE expires_at <= ?'),
    }
  }

  /**
   * Stores a refresh token, atomically only if its user is still active under `epoch` (the token epoch the caller
   * checked the credential against): a password set or a disable by another process (the CLI) between that check and
   * this write draws a new epoch, and then nothing is stored (false). Every refresh token is written here.
   */
  add(token: NewRefreshToken, epoch: number): boolean {
    const { id, familyId, userId, hash, expiresAt } = token
    return this.statements.insert.run(id, familyId, hash, this.now(), expiresAt, userId, epoch).changes === 1
  }

  findByHash(hash: Buffer): RefreshToken | undefined {
    return this.statements.byHash.get(hash) as RefreshToken | undefined
  }

  /**
   * Marks a refresh token used and stores its successor, atomically: false (nothing written) if it was used or revoked
   * meanwhile, or its user is no longer active under `epoch`.
   */
  exchange(used: RefreshToken, successor: NewRefreshToken, epoch: number): boolean {
    const run = this.db.transaction(() => {
      if (this.statements.markUsed.run(this.now(), used.id).changes === 0) return false
      if (this.add(successor, epoch)) return true
      throw rollback
    })
    try {
      return run.immediate()
    } catch (error) {
      if (error === rollback) return false
      throw error
    }
  }

  /**
   * Ends a login: its refresh tokens, and (until `accessTokensUntil`, when the last access token it issued expires)
   * every access token issued from it.
   */
  revokeFamily(familyId: string, userId: number, accessTokensUntil: number): void {
    this.db.transaction(() => {
      const at = this.now()
      this.statements.revokeFamily.run(at, familyId)
      this.statements.denyLogin.run(familyId, accessTokensUntil)
      this.feed.record('token_revoked', at, { userId })
    })()
  }

  deniedLogins(): { familyId: string; expiresAt: number }[] {
    return this.statements.deniedLogins.all(this.now()) as { familyId: string; expiresAt: number }[]
  }

  /** Denylists an access token until it would have expired anyway. */
  denyAccessToken(jti: string, expiresAt: number, userId: number): void {
    this.db.transaction(() => {
      this.statements.denyToken.run(jti, expiresAt)
      this.feed.record('token_revoked', this.now(), { tokenId: jti, userId })
    })()
  }

  deniedAccessTokens(): { jti: string; expiresAt: number }[] {
    return this.statements.deniedTokens.all(this.now()) as { jti: string; expiresAt: number }[]
  }

  /** Drops denylist entries and refresh tokens past their expiry. */
  prune(): void {
    const at = this.now()
    this.statements.prune.run(at)
    this.statements.pruneLogins.run(at)
    this.statements.pruneRefresh.run(at)
  }
}
