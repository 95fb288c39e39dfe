// Login sessions end to end: password login, JWT access tokens on the gateway routes, refresh rotation and reuse
// detection, logout, login throttling, every way a JWT can be wrong, and self-service keys.
import { hash } from '@node-rs/argon2'
import { readFileSync } from 'node:fs'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { request } from 'undici'
import { loadJwtSecrets } from '../../src/auth/jwtSecrets.js'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(rig: Rig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers,
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const generateBody = { model: 'llama3.2:3b', prompt: 'hi', stream: false }

async function withUser(rig: Rig, username: string, password: string, role: 'admin' | 'user' | 'readonly' = 'user') {
  rig.gateway.store.users.add({ username, role, passwordHash: await hash(password) })
}

t.test('login, use the access token, refresh, detect refresh-token reuse, log out', async (t) => {
  const rig = await startRig(t)
  await withUser(rig, 'fiona', 'correct horse battery')
  const login = await call(rig, 'POST', '/auth/v1/login', { username: 'fiona', password: 'correct horse battery' })
  t.equal(login.status, 200)
  t.match(login.body, { token_type: 'Bearer', expires_in: 900, refresh_token: /^plr_/, access_token: /^eyJ/ })
  t.equal(login.headers['cache-control'], 'no-store', 'tokens are not cached by proxies')
  const access = login.body.access_token as string

  t.equal((await call(rig, 'POST', '/api/generate', generateBody, bearer(access))).status, 200, 'the JWT works on /api')
  t.match((await call(rig, 'GET', '/auth/v1/me', undefined, bearer(access))).body, {
    username: 'fiona',
    role: 'user',
    credential: { type: 'session' },
  })

  const refreshed = await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: login.body.refresh_token })
  t.equal(refreshed.status, 200)
  t.not(refreshed.body.refresh_token, login.body.refresh_token, 'the refresh token rotates')
  const reused = await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: login.body.refresh_token })
  t.match(reused, { status: 401, body: { code: 'refresh_token_reused' } }, 'reusing the old one is theft')
  const successor = await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: refreshed.body.refresh_token })
  t.match(successor, { status: 401, body: { code: 'token_revoked' } }, 'and the whole family is ended')
  for (const token of [access, refreshed.body.access_token as string]) {
    t.match(
      await call(rig, 'POST', '/api/generate', generateBody, bearer(token)),
      { status: 401, body: { code: 'token_revoked' } },
      'with every access token that login issued, at once',
    )
  }
  const other = (await call(rig, 'POST', '/auth/v1/login', { username: 'fiona', password: 'correct horse battery' }))
    .body

  const second = await call(rig, 'POST', '/auth/v1/login', { username: 'fiona', password: 'correct horse battery' })
  const out = await call(
    rig,
    'POST',
    '/auth/v1/logout',
    { refresh_token: second.body.refresh_token },
    bearer(second.body.access_token),
  )
  t.match(out, { status: 200, body: { logged_out: true } })
  t.match(await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: second.body.refresh_token }), {
    status: 401,
    body: { code: 'token_revoked' },
  })
  t.match(
    await call(rig, 'POST', '/api/generate', generateBody, bearer(second.body.access_token)),
    {
      status: 401,
      body: { code: 'token_revoked' },
    },
    'the access token presented at logout is denylisted',
  )
  t.equal(
    (await call(rig, 'POST', '/api/generate', generateBody, bearer(other.access_token))).status,
    200,
    'other logins live on',
  )
  t.match(await call(rig, 'POST', '/auth/v1/logout', {}), { status: 400, body: { code: 'invalid_request' } })
})

t.test(
  'failed logins: one answer for a wrong password or a missing user, then throttling with Retry-After',
  async (t) => {
    const rig = await startRig(t, { auth: { login_max_failures: 2 } })
    await withUser(rig, 'gina', 'right password!')
    const wrong = await call(rig, 'POST', '/auth/v1/login', { username: 'gina', password: 'wrong password' })
    const missing = await call(rig, 'POST', '/auth/v1/login', { username: 'nobody', password: 'wrong password' })
    t.match(wrong, { status: 401, body: { code: 'invalid_credentials' } })
    t.same(missing.body.detail, wrong.body.detail, 'a missing user is not told apart')
    t.equal(wrong.headers['content-type'], 'application/problem+json')
    t.match(wrong.body, { type: 'urn:parallama:error:invalid_credentials', status: 401, request_id: /./ })
    await call(rig, 'POST', '/auth/v1/login', { username: 'gina', password: 'wrong again' })
    const throttled = await call(rig, 'POST', '/auth/v1/login', { username: 'gina', password: 'right password!' })
    t.match(throttled, { status: 429, body: { code: 'login_throttled' } })
    t.ok(Number(throttled.headers['retry-after']) >= 1, 'Retry-After says how long')
    const bad = [
      [{}, /"username" is required/],
      [{ username: 'gina' }, /"password" is required/],
      [{ username: 'gina', password: 42 }, /"password" is required/],
    ] as const
    for (const [body, detail] of bad)
      t.match(await call(rig, 'POST', '/auth/v1/login', body), { status: 400, body: { detail } })
    const notJson = await request(`${rig.url}/auth/v1/login`, { method: 'POST', body: '{nope' })
    t.equal(notJson.statusCode, 400)
    t.match(await notJson.body.json(), { code: 'invalid_json' })
    t.match(await call(rig, 'GET', '/auth/v1/login'), { status: 405, headers: { allow: 'POST' } })
  },
)

t.test(
  'a disabled user cannot log in, and live access tokens stop; a role change applies to live tokens',
  async (t) => {
    const rig = await startRig(t)
    await withUser(rig, 'hank', 'hank password')
    const { access_token: access } = (
      await call(rig, 'POST', '/auth/v1/login', { username: 'hank', password: 'hank password' })
    ).body
    rig.gateway.store.users.setRole('hank', 'readonly')
    rig.gateway.authenticator.pollChanges()
    t.match(await call(rig, 'POST', '/api/generate', generateBody, bearer(access)), {
      status: 403,
      body: { code: 'permission_denied' },
    })
    rig.gateway.store.users.setActive('hank', false)
    rig.gateway.authenticator.pollChanges()
    t.match(await call(rig, 'GET', '/api/tags', undefined, bearer(access)), {
      status: 401,
      body: { code: 'user_disabled' },
    })
    t.match(await call(rig, 'POST', '/auth/v1/login', { username: 'hank', password: 'hank password' }), {
      status: 401,
      body: { code: 'user_disabled' },
    })
  },
)

t.test('every way an access token can be wrong', async (t) => {
  const rig = await startRig(t)
  await withUser(rig, 'ivy', 'ivy password')
  const user = rig.gateway.store.users.get('ivy')
  const [secret] = loadJwtSecrets('', rig.config.auth.jwt_secret_file)
  const claims = { sub: String(user.id), gen: user.tokenEpoch, sid: 'login-1', jti: 'test-jti', name: 'ivy' }
  const sign = (options: Record<string, unknown>, key: Buffer = secret!.key) =>
    createSigner({
      key,
      algorithm: 'HS256',
      kid: secret!.kid,
      iss: 'parallama',
      aud: 'parallama',
      expiresIn: 60_000,
      ...options,
    })(claims)
  const good = sign({})
  const segments = good.split('.')
  const forged = `${segments[0]}.${segments[1]}.${segments[2]!.slice(0, -4)}AAAA`
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: secret!.kid })).toString('base64url')}.${segments[1]}.`
  const cases: [string, string, string][] = [
    ['valid', good, ''],
    ['expired', sign({ clockTimestamp: Date.now() - 3_600_000 }), 'token_expired'],
    ['forged signature', forged, 'invalid_token'],
    ['another secret', sign({}, Buffer.alloc(32, 1)), 'invalid_token'],
    ['wrong algorithm (HS512)', sign({ algorithm: 'HS512' }), 'invalid_token'],
    ['alg none', none, 'invalid_token'],
    ['wrong issuer', sign({ iss: 'someone-else' }), 'invalid_token'],
    ['wrong audience', sign({ aud: 'another-app' }), 'invalid_token'],
    ['unknown kid', sign({ kid: 'abcdef0123456789' }), 'invalid_token'],
    ['garbage', 'eyJhbGciOi.not.a-token', 'invalid_token'],
  ]
  for (const [name, token, code] of cases) {
    const response = await call(rig, 'GET', '/api/tags', undefined, bearer(token))
    if (!code) t.equal(response.status, 200, name)
    else t.match(response, { status: 401, body: { code } }, name)
  }
  rig.gateway.store.sessions.denyAccessToken('test-jti', Date.now() + 60_000, user.id)
  rig.gateway.authenticator.pollChanges()
  t.match(
    await call(rig, 'GET', '/api/tags', undefined, bearer(good)),
    { status: 401, body: { code: 'token_revoked' } },
    'denylisted',
  )
})

t.test('self-service keys: create, use, list, revoke your own; nobody else’s', async (t) => {
  const rig = await startRig(t)
  await withUser(rig, 'jo', 'jo password!')
  const session = bearer(
    (await call(rig, 'POST', '/auth/v1/login', { username: 'jo', password: 'jo password!' })).body.access_token,
  )
  const created = await call(
    rig,
    'POST',
    '/auth/v1/keys',
    { name: 'script', models: ['llama3.2:*'], expires_in: '7d' },
    session,
  )
  t.equal(created.status, 201)
  t.match(created.body, { key: /^plm_/, name: 'script', models: ['llama3.2:*'], state: 'active', user: 'jo' })
  const key = bearer(created.body.key)
  t.equal((await call(rig, 'POST', '/api/generate', generateBody, key)).status, 200, 'the new key works')
  t.match(await call(rig, 'GET', '/auth/v1/me', undefined, key), {
    body: { credential: { type: 'api_key', key_id: created.body.id } },
  })
  const listed = await call(rig, 'GET', '/auth/v1/keys', undefined, session)
  t.same(
    listed.body.keys.map((k: { id: string }) => k.id),
    [created.body.id],
  )
  t.notOk(JSON.stringify(listed.body).includes(created.body.key), 'a listing never shows the secret')
  const adminKeyId = rig.gateway.store.keys.list().find((k) => k.username === 'admin')!.id
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${adminKeyId}`, undefined, session), {
    status: 404,
    body: { code: 'key_not_found' },
  })
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${created.body.id}`, undefined, session), {
    status: 200,
    body: { state: 'revoked' },
  })
  t.match(await call(rig, 'POST', '/api/generate', generateBody, key), { status: 401, body: { code: 'key_revoked' } })
  const badModels = await call(rig, 'POST', '/auth/v1/keys', { models: ['bad pattern!'] }, session)
  t.match(badModels, { status: 400, body: { code: 'invalid_request', detail: /invalid model pattern/ } })
  t.match(await call(rig, 'POST', '/auth/v1/keys', { expires_in: 'soon' }, session), {
    status: 400,
    body: { detail: /expires_in/ },
  })
  const readonly = rig.addKey({ role: 'readonly' }).headers
  t.match(await call(rig, 'GET', '/auth/v1/keys', undefined, readonly), {
    status: 403,
    body: { code: 'permission_denied' },
  })

  const logs = rig.logs.join('\n')
  t.notOk(logs.includes(created.body.key) || logs.includes('jo password!'), 'no key or password in the logs')
  t.notOk(readFileSync(rig.config.database.path).includes(Buffer.from(created.body.key)), 'the database holds no key')
})
