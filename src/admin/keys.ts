// API keys, as the CLI (`parallama key ...`) and the admin API (/admin/v1/keys) manage them. A new key's secret
// exists only in what create and rotate return; views never hold it (src/auth/keyView.ts).
import { checkKeyAllowIp, issueKey, rotateKey, type IssuedKey } from '../auth/keyIssuer.js'
import type { Principal } from '../auth/principal.js'
import type { ApiKey } from '../store/apiKeys.js'
import type { Store } from '../store/store.js'
import { keyState } from '../auth/keyView.js'
import { isoTime as time } from '../store/bounds.js'
import { auditedChange, recordOk, type AuditTrail } from './auditTrail.js'
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

/** What the audit log keeps of a key before and after a change: never its secret or hash. */
export function keyAuditFields(key: ApiKey) {
  return {
    user: key.username,
    prefix: key.prefix,
    name: key.name,
    models: key.models,
    state: keyState(key),
    expires: time(key.expiresAt),
    replaced_by: key.replacedBy,
    valid_until: time(key.validUntil),
    created_by_key: key.createdByKey,
    signed: key.signed,
    allow_ip: key.allowIp,
  }
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
export function createKey(store: Store, trail: AuditTrail, fields: NewKeyFields): IssuedKey {
  const { user, ...rest } = fields
  return auditedChange(store, trail, 'key.create', null, () => {
    const issued = issueKey(store.keys, { ...rest, userId: getUser(store, user).id })
    // Its secret (and signing secret) is shown once, to this caller: a sensitive read of its own.
    recordOk(trail, 'key.reveal', `key:${issued.record.id}`)
    return { value: issued, target: `key:${issued.record.id}`, after: keyAuditFields(issued.record) }
  })
}

/** Sets the addresses the key may be used from (null: every address), after checking the expected version. */
export function setKeyAllowIp(
  store: Store,
  trail: AuditTrail,
  id: string,
  allowIp: string[] | null,
  expected?: Expected,
): ApiKey {
  checkKeyAllowIp(allowIp)
  return auditedChange(store, trail, 'key.update', `key:${id}`, () => {
    const key = store.keys.get(id)
    expectVersion(expected, keyVersion(key), `API key ${id}`)
    const changed = store.keys.setAllowIp(id, allowIp)
    return { value: changed, before: keyAuditFields(key), after: keyAuditFields(changed) }
  })
}

/** Stops the key at once (and the keys it made, with it). */
export function revokeKey(store: Store, trail: AuditTrail, id: string, expected?: Expected): ApiKey {
  return auditedChange(store, trail, 'key.revoke', `key:${id}`, () => {
    const key = store.keys.get(id)
    expectVersion(expected, keyVersion(key), `API key ${id}`)
    const revoked = store.keys.revoke(id)
    return { value: revoked, before: keyAuditFields(key), after: keyAuditFields(revoked) }
  })
}

/** A successor for the key; the old one works for `graceMs` more (0: stops now). Returns both. */
export function rotateKeyOf(
  store: Store,
  trail: AuditTrail,
  id: string,
  graceMs: number,
  expected?: Expected,
): { issued: IssuedKey; old: ApiKey } {
  return auditedChange(store, trail, 'key.rotate', `key:${id}`, () => {
    const key = store.keys.get(id)
    expectVersion(expected, keyVersion(key), `API key ${id}`)
    const issued = rotateKey(store.keys, id, graceMs)
    recordOk(trail, 'key.reveal', `key:${issued.record.id}`)
    const old = store.keys.get(id)
    return { value: { issued, old }, before: keyAuditFields(key), after: keyAuditFields(old) }
  })
}

/**
 * Whether the caller may revoke or rotate its user's key `keyId`: a login session any of them; an API key itself and
 * the keys it made, unless it may manage keys (a leaked key cannot end its owner's other keys).
 */
export function mayChangeOwnKey(store: Store, principal: Principal, keyId: string): boolean {
  if (principal.keyId === null || principal.keyId === keyId || principal.permissions.has('manage_keys')) return true
  return store.keys.madeBy(keyId, principal.keyId)
}
