// What /admin/v1/users takes and answers (handlers: users.ts; views: src/admin/users.ts).
import { roles } from '../../auth/permissions.js'
import { maxPasswordLength, minPasswordLength } from '../../auth/passwords.js'
import { maxWeight, minWeight } from '../../auth/weights.js'
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { allowIp, exactObject, page, pageQuery, problem, time } from './commonSchemas.js'

const username: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }
const role: JsonSchema = { type: 'string', enum: [...roles] }
const weight: JsonSchema = { type: 'number', minimum: minWeight, maximum: maxWeight }
const password: JsonSchema = { type: ['string', 'null'], minLength: minPasswordLength, maxLength: maxPasswordLength }
const optionalText: JsonSchema = { type: ['string', 'null'] }

export const userView: JsonSchema = exactObject({
  username,
  role,
  active: { type: 'boolean' },
  weight,
  allow_ip: allowIp,
  email: optionalText,
  display_name: optionalText,
  password: { type: 'boolean', description: 'whether the user has a password (may log in)' },
  keys: { type: 'integer', minimum: 0, description: 'API keys of the user, revoked ones included' },
  created: { type: 'string', format: 'date-time' },
  last_login: time,
})

const notFound = { 404: problem }

export const usersListDoc: RouteDoc = {
  summary: 'List users, by username',
  query: pageQuery({
    role,
    active: { type: 'string', enum: ['true', 'false'] },
    q: { type: 'string', description: 'a prefix of the username' },
  }),
  responses: { 200: page(userView), 400: problem },
}

export const usersCreateDoc: RouteDoc = {
  summary: 'Add a user',
  body: exactObject(
    {
      name: username,
      role,
      email: optionalText,
      display_name: optionalText,
      password,
    },
    ['role', 'email', 'display_name', 'password'],
  ),
  responses: { 201: userView, 400: problem, 409: problem },
  etag: true,
}

export const userGetDoc: RouteDoc = {
  summary: 'One user',
  responses: { 200: userView, ...notFound },
  etag: true,
}

export const userPatchDoc: RouteDoc = {
  summary: "Change a user's role, email, display name, whether it is active, its weight, or its address allow-list",
  body: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      role,
      email: optionalText,
      display_name: optionalText,
      active: { type: 'boolean' },
      weight,
      allow_ip: allowIp,
    },
  },
  // 409: the change would leave no active admin.
  responses: { 200: userView, 400: problem, ...notFound, 409: problem, 412: problem },
  etag: true,
}

export const userDeleteDoc: RouteDoc = {
  summary: 'Delete a user with their keys, sessions and limit rules',
  responses: {
    200: exactObject({ deleted: username, keys: { type: 'integer', minimum: 0 } }),
    ...notFound,
    409: problem,
    412: problem,
  },
  etag: true,
}

export const userPasswordDoc: RouteDoc = {
  summary: 'Set a password, or remove it (null); every login session of the user ends',
  body: exactObject({ password }),
  responses: { 200: userView, 400: problem, ...notFound, 412: problem },
  etag: true,
}
