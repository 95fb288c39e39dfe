// /auth/v1 (and its deprecated alias /auth): password login, refresh and logout for people, who am I, and
// self-service API keys; single sign-on (sso.ts). Answers in JSON, errors as problem details. Paths and permissions: routeTable.ts.
import type { TemplatedApp } from '../../native/uws.js'
import { createKey, mayChangeOwnKey, revokeKey } from '../admin/keys.js'
import { checkKeyModels } from '../auth/keyIssuer.js'
import { scopeForNewKey } from '../auth/keyScope.js'
import { issuedView, keyView } from '../auth/keyView.js'
import type { Sessions, TokenPair } from '../auth/sessions.js'
import type { SsoLogin } from '../auth/sso/ssoLogin.js'
import { recordFailure, recordOk, type AuditTrail } from '../admin/auditTrail.js'
import { auditTrailOf } from './auditTrailOf.js'
import { GatewayError } from '../errors.js'
import { parseLifetime } from '../store/bounds.js'
import type { Store } from '../store/store.js'
import { optionalString, stringField, type JsonRouteContext } from './jsonRoute.js'
import { mountLocalRoutes } from './routes.js'
import { ssoHandlers } from './sso.js'

/** `audit` (from JsonRouteContext) records logins, refreshes and logouts; an SSO login calls it with 'login.sso'. */
export interface AuthRoutesContext extends JsonRouteContext {
  sessions: Sessions
  store: Store
  /** Single sign-on, when configured (auth.oidc). */
  sso?: SsoLogin
}

export function mountAuthRoutes(app: TemplatedApp, context: AuthRoutesContext): void {
  const { sessions, store } = context
  mountLocalRoutes(app, 'auth', context, {
    ...ssoHandlers(context.sso, context.authenticate),
    login: async ({ body, address, trail }) => {
      const username = stringField(body, 'username')
      const password = stringField(body, 'password')
      if (username instanceof GatewayError) return username
      if (password instanceof GatewayError) return password
      const pair = await sessions.login(username, password, address)
      recordSession(context, trail, 'login', pair, `user:${username}`)
      return pair instanceof GatewayError ? pair : { status: 200, body: pair }
    },
    refresh: ({ body, trail }) => {
      const token = stringField(body, 'refresh_token')
      if (token instanceof GatewayError) return token
      const pair = sessions.refresh(token)
      recordSession(context, trail, 'login.refresh', pair, null)
      return pair instanceof GatewayError ? pair : { status: 200, body: pair }
    },
    logout: ({ body, request }) => {
      const token = optionalString(body, 'refresh_token')
      if (token instanceof GatewayError) return token
      // An access token presented with the call is revoked too, if it is a valid one.
      const principal = request.credential ? context.authenticate(request.credential) : undefined
      const access = principal instanceof GatewayError ? undefined : principal?.accessToken
      if (token === undefined && !access) {
        return new GatewayError('invalid_request', 'send "refresh_token" in the body, or the access token to revoke')
      }
      const failed = sessions.logout(token, access)
      const caller = principal instanceof GatewayError ? undefined : principal
      const who = auditTrailOf(context.audit, request, caller)
      const target = caller ? `user:${caller.username}` : null
      if (failed) recordFailure(who, 'logout', target, failed)
      else recordOk(who, 'logout', target)
      return failed ?? { status: 200, body: { logged_out: true } }
    },
    me: ({ principal }) => {
      const user = store.users.byId(principal!.userId)
      // Deleted between the credential check and here: as gone as its credential.
      if (!user) return new GatewayError('invalid_token', 'the account of this credential no longer exists')
      return {
        status: 200,
        body: {
          username: user.username,
          role: user.role,
          permissions: [...principal!.permissions],
          email: user.email,
          display_name: user.displayName,
          credential: principal!.keyId ? { type: 'api_key', key_id: principal!.keyId } : { type: 'session' },
        },
      }
    },
    keys_list: ({ principal }) => ({
      status: 200,
      body: { keys: store.keys.list(principal!.userId).map((key) => keyView(key)) },
    }),
    keys_create: ({ principal, body, trail }) => {
      const request = keyRequest(body)
      if (request instanceof GatewayError) return request
      // A key makes keys no broader than itself; a login session makes any key of its user.
      const maker = principal!.keyId === null ? null : store.keys.find(principal!.keyId)
      if (maker === undefined) return new GatewayError('key_revoked')
      const scope = scopeForNewKey(maker, request)
      if (scope instanceof GatewayError) return scope
      const issued = createKey(store, trail, {
        ...request,
        ...scope,
        user: principal!.username,
        createdByKey: maker?.id ?? null,
      })
      return { status: 201, body: issuedView(issued) }
    },
    keys_revoke: ({ principal, params, trail }) => {
      const key = store.keys.find(params[0]!)
      // Another user's key is as absent as one that does not exist.
      if (!key || key.userId !== principal!.userId) return new GatewayError('key_not_found')
      if (!mayChangeOwnKey(store, principal!, key.id)) {
        return new GatewayError(
          'permission_denied',
          'an API key may revoke only itself and the keys it made (log in, or use a key with manage_keys)',
        )
      }
      if (key.revokedAt !== null) return { status: 200, body: keyView(key) }
      return { status: 200, body: keyView(revokeKey(store, trail, key.id)) }
    },
  })
}

/**
 * A login or refresh as an audit row: on success the session's user is the actor (read back from the new access
 * token); a failure names only the target the caller claimed (an unknown name is never an actor).
 */
function recordSession(
  context: AuthRoutesContext,
  trail: AuditTrail,
  action: string,
  pair: TokenPair | GatewayError,
  target: string | null,
): void {
  if (pair instanceof GatewayError) return recordFailure(trail, action, target, pair)
  const principal = context.authenticate(pair.access_token)
  const user = principal instanceof GatewayError ? undefined : principal
  const who = { ...trail, actor: { ...trail.actor, source: 'dashboard' as const, user: user?.username ?? null } }
  recordOk(who, action, target ?? (user ? `user:${user.username}` : null))
}

/** The fields of a key request; absent models and expiry stay undefined (inherited from a key that makes the key). */
function keyRequest(body: Record<string, unknown>) {
  const name = optionalString(body, 'name')
  const description = optionalString(body, 'description')
  if (name instanceof GatewayError) return name
  if (description instanceof GatewayError) return description
  const models = body.models
  if (models !== undefined && !(Array.isArray(models) && models.every((model) => typeof model === 'string'))) {
    return new GatewayError('invalid_request', '"models" must be a list of model names or family:* patterns')
  }
  checkKeyModels(models ?? null)
  let expiresAt: number | undefined
  if (body.expires_in !== undefined) expiresAt = Date.now() + parseLifetime('expires_in', body.expires_in)
  return { name, description, models, expiresAt }
}
