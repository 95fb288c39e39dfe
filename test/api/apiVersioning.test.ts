// /auth/v1 is the auth API; the unversioned /auth paths still answer the same, marked deprecated: Deprecation (RFC
// 9745), Sunset (RFC 8594) and a Link to the same request's successor, on every answer (errors and 405s too).
import { hash } from '@node-rs/argon2'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { request } from 'undici'
import { authAliasDeprecatedAt, authAliasSunsetAt, successorPath } from '../../src/api/apiVersions.js'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(rig: Rig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await request(`${rig.url}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers,
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

const deprecation = '@1796083200'
const sunset = 'Wed, 01 Dec 2027 00:00:00 GMT'

t.test('the dates are the documented ones', async (t) => {
  t.equal(new Date(authAliasDeprecatedAt).toISOString(), '2026-12-01T00:00:00.000Z')
  t.equal(new Date(authAliasSunsetAt).toISOString(), '2027-12-01T00:00:00.000Z')
  const page = readFileSync('docs/api-versioning.md', 'utf8')
  t.match(page, `\`@${authAliasDeprecatedAt / 1000}\``, 'docs/api-versioning.md states the Deprecation date')
  t.match(page, `\`${new Date(authAliasSunsetAt).toUTCString()}\``, 'and the Sunset date')
  t.equal(successorPath('/auth/keys/abc', '/auth/keys/:id', '/auth/v1/keys/:id'), '/auth/v1/keys/abc')
  t.equal(successorPath('/auth/keys/a>b', '/auth/keys/:id', '/auth/v1/keys/:id'), '/auth/v1/keys/a%3Eb')
})

t.test('the unversioned /auth paths answer as /auth/v1 does, with Deprecation, Sunset and Link', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'olga', role: 'user', passwordHash: await hash('olga password!') })
  const login = await call(rig, 'POST', '/auth/login', { username: 'olga', password: 'olga password!' })
  t.equal(login.status, 200, 'the alias logs in')
  t.match(login.body, { token_type: 'Bearer', access_token: String, refresh_token: String })
  t.match(login.headers, {
    deprecation,
    sunset,
    link: '</auth/v1/login>; rel="successor-version"',
  })
  const current = await call(rig, 'POST', '/auth/v1/login', { username: 'olga', password: 'olga password!' })
  t.equal(current.status, 200)
  t.notOk(current.headers.deprecation, 'the current version is not deprecated')
  t.notOk(current.headers.sunset)
  t.notOk(current.headers.link)

  const bearer = { authorization: `Bearer ${current.body.access_token}` }
  const me = await call(rig, 'GET', '/auth/me', undefined, bearer)
  t.same(me.body, (await call(rig, 'GET', '/auth/v1/me', undefined, bearer)).body, 'the same answer on both')
  t.match(me.headers, { deprecation, sunset, link: '</auth/v1/me>; rel="successor-version"' })

  const made = await call(rig, 'POST', '/auth/keys', { name: 'old client' }, bearer)
  t.equal(made.status, 201, 'a key made through the alias')
  const revoked = await call(rig, 'DELETE', `/auth/keys/${made.body.id}`, undefined, bearer)
  t.match(revoked, { status: 200, body: { state: 'revoked' } })
  t.equal(revoked.headers.link, `</auth/v1/keys/${made.body.id}>; rel="successor-version"`, 'links the same key')

  // Errors and refusals on the alias carry the headers too: a client finds out whichever answer it gets.
  const wrong = await call(rig, 'POST', '/auth/login', { username: 'olga' })
  t.match(wrong, { status: 400, headers: { deprecation, sunset, 'content-type': 'application/problem+json' } })
  const anonymous = await call(rig, 'GET', '/auth/keys')
  t.match(anonymous, { status: 401, headers: { deprecation, 'x-parallama-error': 'missing_credential' } })
  const method = await call(rig, 'PUT', '/auth/logout')
  t.match(method, {
    status: 405,
    headers: { allow: 'POST', deprecation, sunset, link: '</auth/v1/logout>; rel="successor-version"' },
  })
  t.match(await call(rig, 'GET', '/auth/nope'), { status: 404, body: { code: 'not_found' } })
})
