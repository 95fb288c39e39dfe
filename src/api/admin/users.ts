// /admin/v1/users: list, add, show, change, set a password, delete (manage_users). The rules are the service's
// (src/admin/users.ts), shared with `parallama user`; here the HTTP side: fields read, ETag and If-Match, pages.
import { hashPassword, passwordProblem } from '../../auth/passwords.js'
import { roles } from '../../auth/permissions.js'
import { isWeight, weightExpected } from '../../auth/weights.js'
import {
  addUser,
  changeUser,
  getUser,
  listUsers,
  removeUser,
  setUserPassword,
  userVersion,
  userView,
  type UserChanges,
} from '../../admin/users.js'
import { GatewayError } from '../../errors.js'
import type { User } from '../../store/users.js'
import type { AdminRoutesContext } from '../admin.js'
import type { JsonHandler } from '../jsonRoute.js'
import { pageOf, pageRequest } from '../pagination.js'
import { ifMatch, withEtag } from '../preconditions.js'
import {
  allowIpOf,
  booleanOf,
  numberOf,
  oneOf,
  onlyFields,
  queryFields,
  requiredString,
  stringOf,
} from './bodyFields.js'

export function usersHandlers({ store }: AdminRoutesContext): Record<string, JsonHandler> {
  const shown = (status: number, user: User) =>
    withEtag(status, userView(user, store.users.keyCount(user.id)), userVersion(user))
  return {
    users_list: ({ request }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['limit', 'cursor', 'role', 'active', 'q'])
      const paging = pageRequest(new URLSearchParams(request.query), 'users')
      if (paging instanceof GatewayError) return paging
      const active = oneOf(query, 'active', ['true', 'false'])
      const users = listUsers(store, {
        role: oneOf(query, 'role', roles),
        active: active === undefined ? undefined : active === 'true',
        prefix: stringOf(query, 'q'),
      })
      const body = pageOf(
        users,
        paging,
        'users',
        ({ user }) => user.username,
        ({ user, keys }) => userView(user, keys),
      )
      return { status: 200, body }
    },
    users_create: async ({ body, trail }) => {
      onlyFields(body, ['name', 'role', 'email', 'display_name', 'password'])
      const username = requiredString(body, 'name')
      const role = oneOf(body, 'role', roles) ?? 'user'
      const email = stringOf(body, 'email', { nullable: true })
      const displayName = stringOf(body, 'display_name', { nullable: true })
      const passwordHash = await passwordHashOf(body)
      return shown(201, addUser(store, trail, { username, role, email, displayName, passwordHash }))
    },
    users_get: ({ params }) => shown(200, getUser(store, params[0]!)),
    users_patch: ({ params, body, header, trail }) => {
      const changes = userChanges(body)
      return shown(200, changeUser(store, trail, params[0]!, changes, ifMatch(header('if-match'))))
    },
    users_password: async ({ params, body, header, trail }) => {
      onlyFields(body, ['password'])
      if (!('password' in body)) return new GatewayError('invalid_request', '"password" is required (null removes it)')
      // Known before the slow hash: a user that does not exist is a 404 at once.
      getUser(store, params[0]!)
      const passwordHash = await passwordHashOf(body)
      return shown(200, setUserPassword(store, trail, params[0]!, passwordHash, ifMatch(header('if-match'))))
    },
    users_delete: ({ params, header, trail }) => {
      const { user, keys } = removeUser(store, trail, params[0]!, ifMatch(header('if-match')))
      return { status: 200, body: { deleted: user.username, keys } }
    },
  }
}

/** The hash of the body's password; null for none (null or absent). */
async function passwordHashOf(body: Record<string, unknown>): Promise<string | null> {
  const password = body.password
  if (password === undefined || password === null) return null
  if (typeof password !== 'string') throw new GatewayError('invalid_request', '"password" must be a string or null')
  const problem = passwordProblem(password)
  if (problem) throw new GatewayError('invalid_request', `"password": ${problem}`)
  return hashPassword(password)
}

function userChanges(body: Record<string, unknown>): UserChanges {
  onlyFields(body, ['role', 'email', 'display_name', 'active', 'weight', 'allow_ip'])
  if (Object.keys(body).length === 0) {
    throw new GatewayError(
      'invalid_request',
      'name at least one of "role", "email", "display_name", "active", "weight", "allow_ip"',
    )
  }
  const weight = numberOf(body, 'weight')
  if (weight !== undefined && !isWeight(weight)) {
    throw new GatewayError('invalid_request', `"weight" must be ${weightExpected}`)
  }
  return {
    role: oneOf(body, 'role', roles),
    email: stringOf(body, 'email', { nullable: true }),
    displayName: stringOf(body, 'display_name', { nullable: true }),
    active: booleanOf(body, 'active'),
    weight,
    allowIp: allowIpOf(body),
  }
}
