// What /admin/v1/keys takes and answers (handlers: keys.ts; the view: src/auth/keyView.ts).
import type { JsonSchema, RouteDoc } from '../routeDoc.js'
import { allowIp, exactObject, page, pageQuery, problem, time } from './commonSchemas.js'

const optionalText: JsonSchema = { type: ['string', 'null'] }
const duration: JsonSchema = { type: 'string', pattern: '^[0-9]', description: 'a duration such as 30d, 12h or 90m' }

export const keyView: JsonSchema = exactObject({
  id: { type: 'string' },
  user: { type: 'string' },
  prefix: { type: 'string' },
  name: optionalText,
  description: optionalText,
  models: { type: ['array', 'null'], items: { type: 'string' }, description: 'allowed models; null: every one' },
  state: { type: 'string', enum: ['active', 'revoked', 'expired', 'rotated', 'rotated (in grace)'] },
  created: { type: 'string', format: 'date-time' },
  expires: time,
  last_used: time,
  replaced_by: optionalText,
  valid_until: time,
  created_by_key: optionalText,
  signed: { type: 'boolean', description: 'requests with the key must be signed (docs/signing.md)' },
  allow_ip: allowIp,
})

/** A new key: the view and, only here, the secret. */
const issued: JsonSchema = {
  ...keyView,
  required: [...(keyView.required as string[]), 'key'],
  properties: {
    ...(keyView.properties as object),
    key: { type: 'string', pattern: '^plm_', description: 'the key itself: shown once, stored nowhere' },
    signing_secret: {
      type: 'string',
      pattern: '^pls_',
      description: "a signed key's signing secret (HMAC key): shown once; absent for an unsigned key",
    },
  },
}

const notFound = { 404: problem }

export const keysListDoc: RouteDoc = {
  summary: "List API keys (every user's with manage_keys, else the caller's own)",
  query: pageQuery({ user: { type: 'string', description: 'only this user' } }),
  responses: { 200: page(keyView), 400: problem, 403: problem, ...notFound },
}

export const keysCreateDoc: RouteDoc = {
  summary: 'Create an API key (returned once)',
  body: exactObject(
    {
      user: { type: 'string', description: "the owner; default the caller (another user's needs manage_keys)" },
      name: optionalText,
      description: optionalText,
      models: { type: ['array', 'null'], items: { type: 'string' } },
      expires: duration,
      signed: { type: 'boolean', description: 'requests must be signed: the answer holds the signing secret, once' },
      allow_ip: allowIp,
    },
    ['user', 'name', 'description', 'models', 'expires', 'signed', 'allow_ip'],
  ),
  responses: { 201: issued, 400: problem, 403: problem, ...notFound },
  etag: true,
}

export const keyGetDoc: RouteDoc = { summary: 'One API key', responses: { 200: keyView, ...notFound }, etag: true }

export const keyPatchDoc: RouteDoc = {
  summary: "Change a key's address allow-list",
  body: exactObject({ allow_ip: allowIp }),
  responses: { 200: keyView, 400: problem, 403: problem, ...notFound, 412: problem },
  etag: true,
}

export const keyRevokeDoc: RouteDoc = {
  summary: 'Revoke a key at once (and the keys it made)',
  responses: { 200: keyView, 403: problem, ...notFound, 409: problem, 412: problem },
  etag: true,
}

export const keyRotateDoc: RouteDoc = {
  summary: 'Issue a successor; the old key works for the grace period',
  body: exactObject({ grace: { ...duration, description: 'default auth.rotation_grace; "0" ends it now' } }, ['grace']),
  responses: {
    201: {
      ...issued,
      required: [...(issued.required as string[]), 'replaces'],
      properties: { ...(issued.properties as object), replaces: keyView },
    },
    400: problem,
    403: problem,
    ...notFound,
    409: problem,
    412: problem,
  },
  etag: true,
}
