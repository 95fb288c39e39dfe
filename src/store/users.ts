// The users table: who may call the gateway, with which role, and whether they still may. Ids are never reused
// (AUTOINCREMENT), and each user has a random token epoch that every access token carries: setting a password or
// disabling the user draws a new one (and revokes every refresh token), which ends every token issued before.
import { randomInt } from 'node:crypto'
import type { Role } from '../auth/permissions.js'
import { checkOptionalText, checkWeight, displayNameBounds, emailBounds } from './bounds.js'
import { checkAllowIp, readList } from './apiKeys.js'
import type { ChangeFeed } from './changeFeed.js'
import type { Db } from './database.js'

export interface User {
  id: number
  username: string
  email: string | null
  displayName: string | null
  passwordHash: string | null
  role: Role
  active: boolean
  createdAt: number
  updatedAt: number
  lastLoginAt: number | null
  /** Changes whenever every token of the user must end; access tokens carry the one they were issued under. */
  tokenEpoch: number
  /** The user's own weight under contention (1 unless set); the scheduler multiplies it by the role's. */
  weight: number
  /** Client address ranges every credential of the user may be used from; null = every address. */
  allowIp: string[] | null
}

export interface NewUser {
  username: string
  role: Role
  email?: string | null
  displayName?: string | null
  passwordHash?: string | null
}

/** An identity at an OpenID provider: the `iss` and `sub` of its ID token. */
export interface SsoLink {
  issuer: string
  subject: string
}

export class UserError extends Error {
  constructor(
    readonly code: 'invalid_username' | 'invalid_email' | 'user_exists' | 'user_not_found',
    message: string,
  ) {
    super(message)
  }
}

export const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,189}$/

const columns = `id, username, email, display_name AS displayName, password_hash AS passwordHash, role,
  active, created_at AS createdAt, updated_at AS updatedAt, last_login_at AS lastLoginAt, token_epoch AS tokenEpoch,
  weight, allow_ip AS allowIp`

/** A fresh epoch: random, so that no epoch repeats even across a restored backup. */
export function newTokenEpoch(): number {
  return randomInt(1, 2 ** 48)
}

function toUser(row: any): User | undefined {
  return row
    ? { ...row, active: row.active === 1, allowIp: row.allowIp === null ? null : readList(row.allowIp) }
    : undefined
}

export function checkUsername(username: string): void {
  if (typeof username !== 'string' || !usernamePattern.test(username)) {
    throw new UserError(
      'invalid_username',
      `invalid username ${JSON.stringify(username.length > 64 ? `${username.slice(0, 64)}…` : username)}: 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit`,
    )
  }
}

/** An email address and display name within their bounds; an empty one is none. */
function checkProfile(profile: { email?: string | null; displayName?: string | null }) {
  const email = checkOptionalText('email', profile.email || null, emailBounds)
  if (email !== null && !emailPattern.test(email)) {
    throw new UserError('invalid_email', `invalid email address ${JSON.stringify(email)}`)
  }
  const displayName = checkOptionalText('display_name', profile.displayName || null, displayNameBounds)
  return { email, displayName }
}

export class UserStore {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly feed: ChangeFeed,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      insert: db.prepare(`INSERT INTO users (username, email, display_name, password_hash, role, active, created_at,
        updated_at, token_epoch) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`),
      byName: db.prepare(`SELECT ${columns} FROM users WHERE username = ?`),
      byId: db.prepare(`SELECT ${columns} FROM users WHERE id = ?`),
      list: db.prepare(`SELECT ${columns} FROM users ORDER BY username`),
      setRole: db.prepare('UPDATE users SET role = ?, updated_at = ? WHERE id = ?'),
      setWeight: db.prepare('UPDATE users SET weight = ?, updated_at = ? WHERE id = ?'),
      setAllowIp: db.prepare('UPDATE users SET allow_ip = ?, updated_at = ? WHERE id = ?'),
      setActive: db.prepare('UPDATE users SET active = ?, updated_at = ? WHERE id = ?'),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
      setProfile: db.prepare('UPDATE users SET email = ?, display_name = ?, updated_at = ? WHERE id = ?'),
      upgradeHash: db.prepare('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?'),
      newEpoch: db.prepare('UPDATE users SET token_epoch = ? WHERE id = ?'),
      revokeRefresh: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL'),
      touchLogin: db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM users WHERE id = ?'),
      // Limit rules name users and keys by id: they go with them.
      removeLimits: db.prepare(`DELETE FROM limits WHERE (subject_type = 'user' AND subject = ?)
        OR (subject_type = 'key' AND subject IN (SELECT id FROM api_keys WHERE user_id = ?))`),
      keyCount: db.prepare('SELECT COUNT(*) FROM api_keys WHERE user_id = ?').pluck(),
      bySso: db.prepare(`SELECT ${columns} FROM users WHERE sso_issuer = ? AND sso_subject = ?`),
      ssoLink: db.prepare('SELECT sso_issuer AS issuer, sso_subject AS subject FROM users WHERE id = ?'),
      link: db.prepare('UPDATE users SET sso_issuer = ?, sso_subject = ?, updated_at = ? WHERE id = ?'),
    }
  }

  add(user: NewUser): User {
    checkUsername(user.username)
    const { email, displayName } = checkProfile(user)
    return this.db
      .transaction(() => {
        if (this.find(user.username)) throw new UserError('user_exists', `user "${user.username}" already exists`)
        const at = this.now()
        const { lastInsertRowid } = this.statements.insert.run(
          user.username,
          email,
          displayName,
          user.passwordHash ?? null,
          user.role,
          at,
          at,
          newTokenEpoch(),
        )
        const id = Number(lastInsertRowid)
        // Caches that remembered this id as missing (a token from a restored backup) forget it.
        this.feed.record('user_created', at, { userId: id }, { role: user.role })
        return this.byId(id)!
      })
      .immediate()
  }

  /**
   * A new user linked to an OpenID identity (issuer + subject), in one transaction: a name taken meanwhile is
   * user_exists, an identity linked meanwhile is refused by the unique index, so no half-linked row is left.
   */
  addLinked(user: NewUser, link: SsoLink): User {
    return this.db
      .transaction(() => {
        const created = this.add(user)
        this.statements.link.run(link.issuer, link.subject, this.now(), created.id)
        return created
      })
      .immediate()
  }

  /** The user linked to an OpenID identity, if any. */
  findBySso(link: SsoLink): User | undefined {
    return toUser(this.statements.bySso.get(link.issuer, link.subject))
  }

  /** The OpenID identity a user is linked to, or undefined (a password or key-only user). */
  ssoLink(userId: number): SsoLink | undefined {
    const row = this.statements.ssoLink.get(userId) as { issuer: string | null; subject: string | null } | undefined
    return row?.issuer != null && row.subject != null ? { issuer: row.issuer, subject: row.subject } : undefined
  }

  find(username: string): User | undefined {
    return toUser(this.statements.byName.get(username))
  }

  /** The user, or a UserError naming who was not found. */
  get(username: string): User {
    const user = this.find(username)
    if (!user) throw new UserError('user_not_found', `no user "${username}"`)
    return user
  }

  byId(id: number): User | undefined {
    return toUser(this.statements.byId.get(id))
  }

  list(): User[] {
    return this.statements.list.all().map((row) => toUser(row)!)
  }

  keyCount(userId: number): number {
    return this.statements.keyCount.get(userId) as number
  }

  setRole(username: string, role: Role): User {
    return this.change(username, 'role_changed', (user, at) => this.statements.setRole.run(role, at, user.id), {
      role,
    })
  }

  /**
   * The user's weight under contention. Recorded in the change feed like a role change: a running server forgets the
   * principals it cached for the user, so the next request carries the new weight (no query on the way).
   */
  setWeight(username: string, weight: number): User {
    checkWeight(weight)
    return this.change(username, 'user_changed', (user, at) => this.statements.setWeight.run(weight, at, user.id), {
      weight,
      fields: ['weight'],
    })
  }

  /**
   * The addresses every credential of the user may be used from (null: every address). In the change feed like a role
   * change: a running server forgets the user's cached principals and login state, so the next request is checked.
   */
  setAllowIp(username: string, allowIp: string[] | null): User {
    if (allowIp) checkAllowIp(allowIp)
    const stored = allowIp ? JSON.stringify(allowIp) : null
    return this.change(username, 'user_changed', (user, at) => this.statements.setAllowIp.run(stored, at, user.id), {
      fields: ['allow_ip'],
    })
  }

  /** Disabling ends every login token of the user for good; keys are refused while disabled, and work again after. */
  setActive(username: string, active: boolean): User {
    const kind = active ? 'user_enabled' : 'user_disabled'
    return this.change(username, kind, (user, at) => {
      this.statements.setActive.run(active ? 1 : 0, at, user.id)
      if (!active) this.endTokens(user.id, at)
    })
  }

  /** A new password (or none) ends every access and refresh token of the user, at once. */
  setPassword(username: string, passwordHash: string | null): User {
    return this.change(
      username,
      'user_changed',
      (user, at) => {
        this.statements.setPassword.run(passwordHash, at, user.id)
        this.endTokens(user.id, at)
      },
      { fields: ['password'] },
    )
  }

  /** A new email address and display name (null: none), checked as `add` checks them. */
  setProfile(username: string, profile: { email: string | null; displayName: string | null }): User {
    const { email, displayName } = checkProfile(profile)
    return this.change(
      username,
      'user_changed',
      (user, at) => this.statements.setProfile.run(email, displayName, at, user.id),
      { fields: ['email', 'display_name'] },
    )
  }

  /** Replaces a hash made with weaker parameters after a successful login; no-op if the password changed meanwhile. */
  upgradePasswordHash(userId: number, oldHash: string, newHash: string): boolean {
    return this.statements.upgradeHash.run(newHash, userId, oldHash).changes > 0
  }

  /** Ends every token: a new epoch for access tokens, and every refresh token revoked. */
  private endTokens(userId: number, at: number): void {
    this.statements.newEpoch.run(newTokenEpoch(), userId)
    this.statements.revokeRefresh.run(at, userId)
  }

  touchLogin(userId: number): void {
    this.statements.touchLogin.run(this.now(), userId)
  }

  /** Deletes the user with their keys, sessions (ON DELETE CASCADE) and the limit rules that name them. */
  remove(username: string): User {
    return this.change(username, 'user_deleted', (user, at) => {
      if (this.statements.removeLimits.run(String(user.id), user.id).changes > 0) {
        this.feed.record(
          'limits_changed',
          at,
          {},
          { action: 'removed', subject_type: 'user', subject: String(user.id) },
        )
      }
      this.statements.remove.run(user.id)
    })
  }

  private change(
    username: string,
    kind: Parameters<ChangeFeed['record']>[0],
    write: (user: User, at: number) => void,
    detail?: Record<string, unknown>,
  ) {
    return this.db
      .transaction(() => {
        const user = this.get(username)
        const at = this.now()
        write(user, at)
        // Named in the change itself: a server may turn it into an event after the user is gone (user.deleted).
        this.feed.record(kind, at, { userId: user.id }, { ...detail, username: user.username })
        return this.byId(user.id) ?? user
      })
      .immediate()
  }
}
