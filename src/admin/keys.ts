// API keys, as the CLI (`parallama key ...`) and the admin API (/admin/v1/keys) manage them. A new key's secret
// exists only in what create and rotate return; views never hold it (src/auth/keyView.ts).
import { checkKeyAllowIp, issueKey, rotateKey, type IssuedKey } from '../auth/keyIssuer.js'
import type { Principal } from '../auth/principal.js'
import type { ApiKey } from '../store/apiKeys.js'
import type { Store } from '../store/store.js'
import { getUser } from './users.js'
import { storeCall } from './storeErrors.js'
import { expectVersion, versionOf, type Expected } from './version.js'

/** What a change can alter: revoked, rotated (successor and grace). Its last use is not a change. */
export function keyVersion(key: ApiKey): string {
  return versionOf(
    key.id,
    key.revokedAt,
    key.replacedBy,
    key.validUntil,
    key.expiresAt,
    ...(key.allowIp === null ? [] : [key.allowIp]),
  )
}

/** Every key, or one user's (by username); oldest first within a user. */
export function listKeys(store: Store, username?: string): ApiKey[] {
  return store.keys.list(username === undefined ? undefined : getUser(store, username).id)
}

export function getKey(store: Store, id: string): ApiKey {
  return storeCall(() => store.keys.get(id))
}

export interface NewKeyFields {
  /** The owner's username. */
  user: string
  name?: string | null
  description?: string | null
  /** Model allow-list; null: every model. */
  models?: string[] | null
  expiresAt?: number | null
  /** The API key making this one (it goes when its maker is revoked); null: a session, the CLI, an admin. */
  createdByKey?: string | null
  /** Requests must be signed (a signing secret is made, shown once). */
  signed?: boolean
  /** Client address ranges the key may be used from; null: every address. */
  allowIp?: string[] | null
}

/** Issues a key for the user: the result holds its secret, to show once. */
export function createKey(store: Store, fields: NewKeyFields): IssuedKey {
  const { user, ...rest } = fields
  return storeCall(() => issueKey(store.keys, { ...rest, userId: getUser(store, user).id }))
}

/** Sets the addresses the key may be used from (null: every address), after checking the expected version. */
export function setKeyAllowIp(store: Store, id: string, allowIp: string[] | null, expected?: Expected): ApiKey {
  checkKeyAllowIp(allowIp)
  return storeCall(() =>
    store.db
      .transaction(() => {
        expectVersion(expected, keyVersion(store.keys.get(id)), `API key ${id}`)
        return store.keys.setAllowIp(id, allowIp)
      })
      .immediate(),
  )
}

/** Stops the key at once (and the keys it made, with it). */
export function revokeKey(store: Store, id: string, expected?: Expected): ApiKey {
  return storeCall(() =>
    store.db
      .transaction(() => {
        expectVersion(expected, keyVersion(store.keys.get(id)), `API key ${id}`)
        return store.keys.revoke(id)
      })
      .immediate(),
  )
}

/** A successor for the key; the old one works for `graceMs` more (0: stops now). Returns both. */
export function rotateKeyOf(
  store: Store,
  id: string,
  graceMs: number,
  expected?: Expected,
): { issued: IssuedKey; old: ApiKey } {
  return storeCall(() =>
    store.db
      .transaction(() => {
        expectVersion(expected, keyVersion(store.keys.get(id)), `API key ${id}`)
        const issued = rotateKey(store.keys, id, graceMs)
        return { issued, old: store.keys.get(id) }
      })
      .immediate(),
  )
}

/**
 * Whether the caller may revoke or rotate its user's key `keyId`: a login session any of them; an API key itself and
 * the keys it made, unless it may manage keys (a leaked key cannot end its owner's other keys).
 */
export function mayChangeOwnKey(store: Store, principal: Principal, keyId: string): boolean {
  if (principal.keyId === null || principal.keyId === keyId || principal.permissions.has('manage_keys')) return true
  return store.keys.madeBy(keyId, principal.keyId)
}
