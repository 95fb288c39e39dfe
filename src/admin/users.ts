// Users, as the CLI (`parallama user ...`) and the admin API (/admin/v1/users) manage them: one set of rules, views
// and store calls for both. Each change is one transaction that first checks the caller's expected version (If-Match)
// against the row as it is then; the store records each change in the change feed, which makes its event.
import type { Role } from '../auth/permissions.js'
import { GatewayError } from '../errors.js'
import { isoTime as time } from '../store/bounds.js'
import type { Store } from '../store/store.js'
import type { User } from '../store/users.js'
import { auditedChange, type AuditTrail } from './auditTrail.js'
import { storeCall } from './storeErrors.js'
import { expectVersion, versionOf, type Expected } from './version.js'

/** A user as shown: never the password hash (only whether there is one). `keys` where counted. */
export function userView(user: User, keys?: number) {
  return {
    username: user.username,
    role: user.role,
    active: user.active,
    weight: user.weight,
    allow_ip: user.allowIp,
    email: user.email,
    display_name: user.displayName,
    password: user.passwordHash !== null,
    keys,
    created: time(user.createdAt),
    last_login: time(user.lastLoginAt),
  }
}

/** What the audit log keeps of a user before and after a change: no hash, only whether there is a password. */
export function userAuditFields(user: User) {
  return {
    role: user.role,
    active: user.active,
    weight: user.weight,
    email: user.email,
    display_name: user.displayName,
    has_password: user.passwordHash !== null,
    allow_ip: user.allowIp,
  }
}

/** The fields a change can alter (a login's time is not a change); the token epoch moves with a new password. */
export function userVersion(user: User): string {
  return versionOf(
    user.id,
    user.role,
    user.active,
    user.weight,
    user.email,
    user.displayName,
    user.tokenEpoch,
    // Only when set: the versions of users without one stay as they were.
    ...(user.allowIp === null ? [] : [user.allowIp]),
  )
}

export interface UserFilter {
  role?: Role
  active?: boolean
  /** A prefix of the username. */
  prefix?: string
}

/** Users by username, with their key counts. */
export function listUsers(store: Store, filter: UserFilter = {}): { user: User; keys: number }[] {
  return store.users
    .list()
    .filter(
      (user) =>
        (filter.role === undefined || user.role === filter.role) &&
        (filter.active === undefined || user.active === filter.active) &&
        (filter.prefix === undefined || user.username.startsWith(filter.prefix)),
    )
    .map((user) => ({ user, keys: store.users.keyCount(user.id) }))
}

export function getUser(store: Store, username: string): User {
  return storeCall(() => store.users.get(username))
}

export interface NewUserFields {
  username: string
  role: Role
  email?: string | null
  displayName?: string | null
  /** Already hashed (hashing is slow and async: done before the transaction). */
  passwordHash?: string | null
}

export function addUser(store: Store, trail: AuditTrail, fields: NewUserFields): User {
  return auditedChange(store, trail, 'user.create', `user:${fields.username}`, () => {
    const user = store.users.add(fields)
    return { value: user, after: userAuditFields(user) }
  })
}

/** What a change may set; absent fields stay. */
export interface UserChanges {
  role?: Role
  email?: string | null
  displayName?: string | null
  active?: boolean
  weight?: number
  /** Client address ranges every credential of the user may be used from; null: every address. */
  allowIp?: string[] | null
}

/**
 * Applies every given change or none, after checking the expected version. Each field changed is its own feed entry
 * (a role change is user.role_changed, a disable user.disabled), as the CLI's single changes are.
 */
export function changeUser(
  store: Store,
  trail: AuditTrail,
  username: string,
  changes: UserChanges,
  expected?: Expected,
): User {
  return auditedChange(store, trail, 'user.update', `user:${username}`, () => {
    const user = store.users.get(username)
    expectVersion(expected, userVersion(user), `user "${username}"`)
    const staysAdmin = (changes.role ?? user.role) === 'admin' && (changes.active ?? user.active)
    if (!staysAdmin) keepAnAdmin(store, user)
    if (changes.role !== undefined && changes.role !== user.role) store.users.setRole(username, changes.role)
    if (changes.weight !== undefined && changes.weight !== user.weight) {
      store.users.setWeight(username, changes.weight)
    }
    const email = changes.email === undefined ? user.email : changes.email
    const displayName = changes.displayName === undefined ? user.displayName : changes.displayName
    if (email !== user.email || displayName !== user.displayName) {
      store.users.setProfile(username, { email, displayName })
    }
    if (changes.allowIp !== undefined && !sameList(changes.allowIp, user.allowIp)) {
      store.users.setAllowIp(username, changes.allowIp)
    }
    if (changes.active !== undefined && changes.active !== user.active) {
      store.users.setActive(username, changes.active)
    }
    const changed = store.users.get(username)
    return { value: changed, before: userAuditFields(user), after: userAuditFields(changed) }
  })
}

/** Sets (a hash) or removes (null) the password; every login session of the user ends. */
export function setUserPassword(
  store: Store,
  trail: AuditTrail,
  username: string,
  passwordHash: string | null,
  expected?: Expected,
): User {
  return auditedChange(store, trail, 'user.password', `user:${username}`, () => {
    const user = store.users.get(username)
    expectVersion(expected, userVersion(user), `user "${username}"`)
    const changed = store.users.setPassword(username, passwordHash)
    return {
      value: changed,
      before: { has_password: user.passwordHash !== null },
      after: { has_password: passwordHash !== null },
    }
  })
}

/** How many keys deleting the user takes with it (what the CLI asks to confirm). */
export function keysOfUser(store: Store, username: string): number {
  return store.users.keyCount(getUser(store, username).id)
}

/** Deletes the user with their keys, sessions and limit rules; returns the user and how many keys went. */
export function removeUser(
  store: Store,
  trail: AuditTrail,
  username: string,
  expected?: Expected,
): { user: User; keys: number } {
  return auditedChange(store, trail, 'user.delete', `user:${username}`, () => {
    const user = store.users.get(username)
    expectVersion(expected, userVersion(user), `user "${username}"`)
    keepAnAdmin(store, user)
    const keys = store.users.keyCount(user.id)
    return { value: { user: store.users.remove(username), keys }, before: { ...userAuditFields(user), keys } }
  })
}

/**
 * Refuses to take away the last active admin (`user` is leaving the role, the active users or the table): nobody could
 * then manage users over the API, and an admin demoting or deleting themselves by mistake would lock everyone out.
 * Called inside the change's immediate transaction, so two admins demoting each other at once cannot both pass.
 */
function keepAnAdmin(store: Store, user: User): void {
  if (user.role !== 'admin' || !user.active) return
  const others = store.users.list().some((other) => other.id !== user.id && other.role === 'admin' && other.active)
  if (!others) {
    throw new GatewayError(
      'last_admin',
      `user "${user.username}" is the last active admin: make another user an admin first`,
    )
  }
}

function sameList(a: string[] | null, b: string[] | null): boolean {
  return a === b || (a !== null && b !== null && a.length === b.length && a.every((item, index) => item === b[index]))
}
