// /admin/v1/keys: list, create, show, revoke, rotate. With manage_keys, anyone's keys; with manage_own_keys only, the
// caller's own (another user's key is as absent as one that does not exist), and an API key changes only itself and
// the keys it made. The rules are the service's (src/admin/keys.ts), shared with `parallama key`.
import { scopeForNewKey } from '../../auth/keyScope.js'
import { issuedView, keyView } from '../../auth/keyView.js'
import type { Principal } from '../../auth/principal.js'
import {
  createKey,
  getKey,
  keyVersion,
  listKeys,
  mayChangeOwnKey,
  revokeKey,
  rotateKeyOf,
  setKeyAllowIp,
} from '../../admin/keys.js'
import { GatewayError } from '../../errors.js'
import type { ApiKey } from '../../store/apiKeys.js'
import { parseLifetime } from '../../store/bounds.js'
import type { Store } from '../../store/store.js'
import type { AdminRoutesContext } from '../admin.js'
import type { JsonHandler } from '../jsonRoute.js'
import { pageOf, pageRequest } from '../pagination.js'
import { ifMatch, withEtag } from '../preconditions.js'
import { allowIpOf, booleanOf, onlyFields, queryFields, stringListOf, stringOf } from './bodyFields.js'

const anyones = 'manage_keys'

export function keysHandlers({ store, config }: AdminRoutesContext): Record<string, JsonHandler> {
  return {
    keys_list: ({ request, principal }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['limit', 'cursor', 'user'])
      const paging = pageRequest(new URLSearchParams(request.query), 'keys')
      if (paging instanceof GatewayError) return paging
      const user = ownerFor(principal!, stringOf(query, 'user'))
      const keys = listKeys(store, user).sort((a, b) => compare(listOrder(a), listOrder(b)))
      return { status: 200, body: pageOf(keys, paging, 'keys', listOrder, (key) => keyView(key)) }
    },
    keys_create: ({ principal, body, trail }) => {
      onlyFields(body, ['user', 'name', 'description', 'models', 'expires', 'signed', 'allow_ip'])
      const user = ownerFor(principal!, stringOf(body, 'user')) ?? principal!.username
      const expires = stringOf(body, 'expires')
      const request = {
        name: stringOf(body, 'name', { nullable: true }),
        description: stringOf(body, 'description', { nullable: true }),
        models: stringListOf(body, 'models'),
        expiresAt: expires === undefined ? undefined : Date.now() + parseLifetime('expires', expires),
        signed: booleanOf(body, 'signed'),
        allowIp: allowIpOf(body),
      }
      // A key of the caller's own made with an API key is no broader than that key, and ends with it.
      const maker = ownKeyMaker(store, principal!, user)
      const scope = maker
        ? scopeForNewKey(maker, request)
        : { models: request.models, expiresAt: request.expiresAt, signed: request.signed, allowIp: request.allowIp }
      if (scope instanceof GatewayError) return scope
      const issued = createKey(store, trail, { ...request, ...scope, user, createdByKey: maker?.id ?? null })
      return withEtag(201, issuedView(issued), keyVersion(issued.record))
    },
    keys_patch: ({ principal, params, body, header, trail }) => {
      onlyFields(body, ['allow_ip'])
      const allowIp = allowIpOf(body)
      if (allowIp === undefined)
        return new GatewayError('invalid_request', '"allow_ip" is required (null: every address)')
      const key = changeableKey(store, principal!, params[0]!)
      // A key changing itself (or what it made) may narrow its list, never widen it.
      const maker = principal!.keyId !== null && !principal!.permissions.has(anyones)
      if (
        maker &&
        key.allowIp !== null &&
        (allowIp === null || !allowIp.every((range) => key.allowIp!.includes(range)))
      ) {
        return new GatewayError(
          'key_broader_than_credential',
          'an API key may only narrow an allow_ip it is under (log in, or use a key with manage_keys)',
        )
      }
      const changed = setKeyAllowIp(store, trail, key.id, allowIp, ifMatch(header('if-match')))
      return withEtag(200, keyView(changed), keyVersion(changed))
    },
    keys_get: ({ principal, params }) => {
      const key = visibleKey(store, principal!, params[0]!)
      return withEtag(200, keyView(key), keyVersion(key))
    },
    keys_revoke: ({ principal, params, header, trail }) => {
      const key = changeableKey(store, principal!, params[0]!)
      const revoked = revokeKey(store, trail, key.id, ifMatch(header('if-match')))
      return withEtag(200, keyView(revoked), keyVersion(revoked))
    },
    keys_rotate: ({ principal, params, body, header, trail }) => {
      onlyFields(body, ['grace'])
      const key = changeableKey(store, principal!, params[0]!)
      const grace = stringOf(body, 'grace')
      const graceMs =
        grace === undefined ? config().auth.rotation_grace : parseLifetime('grace', grace, { allowZero: true })
      const { issued, old } = rotateKeyOf(store, trail, key.id, graceMs, ifMatch(header('if-match')))
      const shown = { ...issuedView(issued), replaces: keyView(old) }
      return withEtag(201, shown, keyVersion(issued.record))
    },
  }
}

/** Creation order within a user, users by name: a unique key for paging. */
function listOrder(key: ApiKey): string {
  return `${key.username}\u0000${String(key.createdAt).padStart(16, '0')}\u0000${key.id}`
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Whose keys the caller means: any user's with manage_keys (default: everyone's), else only their own. */
function ownerFor(principal: Principal, user: string | undefined): string | undefined {
  if (principal.permissions.has(anyones)) return user
  if (user !== undefined && user.toLowerCase() !== principal.username.toLowerCase()) {
    throw new GatewayError('permission_denied', `only your own keys: another user's needs ${anyones}`)
  }
  return principal.username
}

/** The API key making a key for its own user (when the caller is one and may not manage every key). */
function ownKeyMaker(store: Store, principal: Principal, user: string): ApiKey | null {
  if (principal.keyId === null || principal.permissions.has(anyones) || user !== principal.username) return null
  const maker = store.keys.find(principal.keyId)
  if (!maker) throw new GatewayError('key_revoked')
  return maker
}

/** The key, if the caller may see it: another user's is a 404 to a caller without manage_keys. */
function visibleKey(store: Store, principal: Principal, id: string): ApiKey {
  const key = getKey(store, id)
  if (!principal.permissions.has(anyones) && key.userId !== principal.userId) {
    throw new GatewayError('key_not_found', `no API key with id "${id}"`)
  }
  return key
}

/** The key, if the caller may revoke or rotate it. */
function changeableKey(store: Store, principal: Principal, id: string): ApiKey {
  const key = visibleKey(store, principal, id)
  if (!mayChangeOwnKey(store, principal, key.id)) {
    throw new GatewayError(
      'permission_denied',
      'an API key may change only itself and the keys it made (log in, or use a key with manage_keys)',
    )
  }
  return key
}
