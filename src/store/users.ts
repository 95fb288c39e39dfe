// The users table: who may call the gateway, with which role, and whether they still may.
import type { Role } from '../auth/permissions.js'
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
}

export interface NewUser {
  username: string
  role: Role
  email?: string | null
  displayName?: string | null
  passwordHash?: string | null
}

export class UserError extends Error {
  constructor(
    readonly code: 'invalid_username' | 'invalid_email' | 'user_exists' | 'user_not_found',
    message: string,
  ) {
    super(message)
  }
}

const usernamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,255}$/

const columns = `id, username, email, display_name AS displayName, password_hash AS passwordHash, role,
  active, created_at AS createdAt, updated_at AS updatedAt, last_login_at AS lastLoginAt`

function toUser(row: any): User | undefined {
  return row ? { ...row, active: row.active === 1 } : undefined
}

export function checkUsername(username: string): void {
  if (!usernamePattern.test(username)) {
    throw new UserError(
      'invalid_username',
      `invalid username "${username}": 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit`,
    )
  }
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
        updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)`),
      byName: db.prepare(`SELECT ${columns} FROM users WHERE username = ?`),
      byId: db.prepare(`SELECT ${columns} FROM users WHERE id = ?`),
      list: db.prepare(`SELECT ${columns} FROM users ORDER BY username`),
      setRole: db.prepare('UPDATE users SET role = ?, updated_at = ? WHERE id = ?'),
      setActive: db.prepare('UPDATE users SET active = ?, updated_at = ? WHERE id = ?'),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
      touchLogin: db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM users WHERE id = ?'),
      keyCount: db.prepare('SELECT COUNT(*) FROM api_keys WHERE user_id = ?').pluck(),
    }
  }

  add(user: NewUser): User {
    checkUsername(user.username)
    if (user.email && !emailPattern.test(user.email)) {
      throw new UserError('invalid_email', `invalid email address "${user.email}"`)
    }
    if (this.find(user.username)) throw new UserError('user_exists', `user "${user.username}" already exists`)
    const at = this.now()
    const { lastInsertRowid } = this.statements.insert.run(
      user.username,
      user.email ?? null,
      user.displayName ?? null,
      user.passwordHash ?? null,
      user.role,
      at,
      at,
    )
    return this.byId(Number(lastInsertRowid))!
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
    return this.change(username, 'role_changed', (user, at) => this.statements.setRole.run(role, at, user.id))
  }

  setActive(username: string, active: boolean): User {
    const kind = active ? 'user_changed' : 'user_disabled'
    return this.change(username, kind, (user, at) => this.statements.setActive.run(active ? 1 : 0, at, user.id))
  }

  setPassword(username: string, passwordHash: string | null): User {
    return this.change(username, 'user_changed', (user, at) =>
      this.statements.setPassword.run(passwordHash, at, user.id),
    )
  }

  touchLogin(userId: number): void {
    this.statements.touchLogin.run(this.now(), userId)
  }

  /** Deletes the user with their keys and sessions (ON DELETE CASCADE). */
  remove(username: string): User {
    return this.change(username, 'user_deleted', (user) => this.statements.remove.run(user.id))
  }

  private change(username: string, kind: Parameters<ChangeFeed['record']>[0], write: (user: User, at: number) => void) {
    return this.db
      .transaction(() => {
        const user = this.get(username)
        const at = this.now()
        write(user, at)
        this.feed.record(kind, at, { userId: user.id })
        return this.byId(user.id) ?? user
      })
      .immediate()
  }
}
