// /auth: password login, refresh and logout for people, who am I, and self-service API keys. Answers in JSON, errors
// as problem details.
import type { TemplatedApp } from '../../native/uws.js'
import { issueKey } from '../auth/keyIssuer.js'
import { keyView } from '../auth/keyView.js'
import type { Sessions } from '../auth/sessions.js'
import { parseDuration } from '../config/schemaTypes.js'
import { GatewayError } from '../errors.js'
import type { Store } from '../store/store.js'
import { jsonRoute, optionalString, stringField, type JsonRouteContext } from './jsonRoute.js'
import { mountMethods } from './routes.js'

export interface AuthRoutesContext extends JsonRouteContext {
  sessions: Sessions
  store: Store
}

export function mountAuthRoutes(app: TemplatedApp, context: AuthRoutesContext): void {
  const { sessions, store } = context
  // Collected per path first: a path is mounted once, with its methods and a 405 for the rest.
  const paths = new Map<string, Record<string, ReturnType<typeof jsonRoute>>>()
  const mount = (path: string, method: string, handler: ReturnType<typeof jsonRoute>) => {
    paths.set(path, { ...paths.get(path), [method]: handler })
  }

  mount(
    '/auth/login',
    'POST',
    jsonRoute('auth.login', context, async ({ body, address }) => {
      const username = stringField(body, 'username')
      const password = stringField(body, 'password')
      if (username instanceof GatewayError) return username
      if (password instanceof GatewayError) return password
      const pair = await sessions.login(username, password, address)
      return pair instanceof GatewayError ? pair : { status: 200, body: pair }
    }),
  )

  mount(
    '/auth/refresh',
    'POST',
    jsonRoute('auth.refresh', context, ({ body }) => {
      const token = stringField(body, 'refresh_token')
      if (token instanceof GatewayError) return token
      const pair = sessions.refresh(token)
      return pair instanceof GatewayError ? pair : { status: 200, body: pair }
    }),
  )

  mount(
    '/auth/logout',
    'POST',
    jsonRoute('auth.logout', context, ({ body, request }) => {
      const token = optionalString(body, 'refresh_token')
      if (token instanceof GatewayError) return token
      // An access token presented with the call is revoked too, if it is a valid one.
      const principal = request.credential ? context.authenticate(request.credential) : undefined
      const access = principal instanceof GatewayError ? undefined : principal?.accessToken
      if (token === undefined && !access) {
        return new GatewayError('invalid_request', 'send "refresh_token" in the body, or the access token to revoke')
      }
      const failed = sessions.logout(token, access)
      return failed ?? { status: 200, body: { logged_out: true } }
    }),
  )

  mount(
    '/auth/me',
    'GET',
    jsonRoute('auth.me', context, ({ principal }) => {
      const user = store.users.byId(principal!.userId)!
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
    }),
  )

  mount(
    '/auth/keys',
    'GET',
    jsonRoute('auth.keys_list', context, ({ principal }) => ({
      status: 200,
      body: { keys: store.keys.list(principal!.userId).map((key) => keyView(key)) },
    })),
  )

  mount(
    '/auth/keys',
    'POST',
    jsonRoute('auth.keys_create', context, ({ principal, body }) => {
      const request = keyRequest(body)
      if (request instanceof GatewayError) return request
      const issued = issueKey(store.keys, { ...request, userId: principal!.userId })
      return { status: 201, body: { ...keyView(issued.record), key: issued.key } }
    }),
  )

  mount(
    '/auth/keys/:id',
    'DELETE',
    jsonRoute(
      'auth.keys_revoke',
      context,
      ({ principal, params }) => {
        const key = store.keys.find(params[0]!)
        // Another user's key is as absent as one that does not exist.
        if (!key || key.userId !== principal!.userId) return new GatewayError('key_not_found')
        if (key.revokedAt !== null) return { status: 200, body: keyView(key) }
        return { status: 200, body: keyView(store.keys.revoke(key.id)) }
      },
      1,
    ),
  )
  for (const [path, handlers] of paths) mountMethods(app, path, Object.keys(handlers), handlers, 'problem')
}

function keyRequest(body: Record<string, unknown>) {
  const name = optionalString(body, 'name')
  const description = optionalString(body, 'description')
  if (name instanceof GatewayError) return name
  if (description instanceof GatewayError) return description
  const models = body.models
  if (models !== undefined && !(Array.isArray(models) && models.every((model) => typeof model === 'string'))) {
    return new GatewayError('invalid_request', '"models" must be a list of model names or family:* patterns')
  }
  let expiresAt: number | null = null
  if (body.expires_in !== undefined) {
    const ms = typeof body.expires_in === 'string' ? parseDuration(body.expires_in) : undefined
    if (ms === undefined || ms <= 0) {
      return new GatewayError('invalid_request', '"expires_in" must be a duration such as "30d" or "12h"')
    }
    expiresAt = Date.now() + ms
  }
  return { name, description, models: models ?? null, expiresAt }
}
