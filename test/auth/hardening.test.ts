// The review's exact attacks on identity (issue 11: #3, #4, #9, #10), against a running gateway, with changes made
// through a second database connection as the CLI makes them in its own process.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { hashPassword } from '../../src/auth/passwords.js'
import { openStore } from '../../src/store/store.js'
import { runCli } from '../helpers/cli.js'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(rig: Rig, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers,
  })
  const text = await response.body.text()
  return { status: response.statusCode, body: text ? JSON.parse(text) : undefined }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** What `parallama user ...` does: its own connection to the database file. */
function cliStore(t: Test, rig: Rig) {
  const store = openStore(
    { path: rig.config.database.path, migrate_on_start: true, busy_timeout: 5000 },
    { migrate: true },
  )
  t.teardown(() => store.close())
  return store
}

async function login(rig: Rig, username: string, password: string) {
  const response = await call(rig, 'POST', '/auth/v1/login', { username, password })
  if (response.status !== 200) throw new Error(`login ${username}: ${JSON.stringify(response.body)}`)
  return response.body as { access_token: string; refresh_token: string }
}

t.test('#3: delete a user, create another: the deleted user’s token is not the new user’s', async (t) => {
  const rig = await startRig(t)
  const cli = cliStore(t, rig)
  cli.users.add({ username: 'boss', role: 'admin', passwordHash: await hashPassword('boss password') })
  const old = await login(rig, 'boss', 'boss password')
  t.equal((await call(rig, 'GET', '/auth/v1/me', undefined, bearer(old.access_token))).status, 200)
  const deleted = cli.users.remove('boss')
  const created = cli.users.add({ username: 'newadmin', role: 'admin' })
  t.ok(created.id > deleted.id, 'a new user never gets a deleted user’s id')
  rig.gateway.authenticator.pollChanges()
  for (const path of ['/auth/v1/me', '/api/tags', '/auth/v1/keys']) {
    t.match(await call(rig, 'GET', path, undefined, bearer(old.access_token)), {
      status: 401,
      body: { code: 'invalid_token' },
    })
  }
  t.match(await call(rig, 'POST', '/auth/v1/keys', {}, bearer(old.access_token)), { status: 401 }, 'no key minted')
  t.match(await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: old.refresh_token }), { status: 401 })
})

t.test('#3/#9: disable, password change and admin reset end every token at once', async (t) => {
  const rig = await startRig(t)
  const cli = cliStore(t, rig)
  cli.users.add({ username: 'pat', role: 'user', passwordHash: await hashPassword('first password') })
  const before = await login(rig, 'pat', 'first password')
  cli.users.setPassword('pat', await hashPassword('second password'))
  rig.gateway.authenticator.pollChanges()
  t.match(await call(rig, 'GET', '/api/tags', undefined, bearer(before.access_token)), {
    status: 401,
    body: { code: 'token_revoked' },
  })
  t.match(await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: before.refresh_token }), {
    status: 401,
    body: { code: 'token_revoked' },
  })
  const after = await login(rig, 'pat', 'second password')
  t.equal((await call(rig, 'GET', '/api/tags', undefined, bearer(after.access_token))).status, 200, 'new login works')
  cli.users.setActive('pat', false)
  cli.users.setActive('pat', true)
  rig.gateway.authenticator.pollChanges()
  t.match(
    await call(rig, 'GET', '/api/tags', undefined, bearer(after.access_token)),
    { status: 401, body: { code: 'token_revoked' } },
    'a disable ends login tokens for good, also after enable',
  )
  t.match(await call(rig, 'POST', '/auth/v1/refresh', { refresh_token: after.refresh_token }), { status: 401 })
})

t.test('#4: a key makes only keys within itself, and revokes only itself and what it made', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'kai', role: 'user', passwordHash: await hashPassword('kai password') })
  const session = bearer((await login(rig, 'kai', 'kai password')).access_token)
  const restricted = await call(rig, 'POST', '/auth/v1/keys', { models: ['llama3.2:*'], expires_in: '7d' }, session)
  const sibling = await call(rig, 'POST', '/auth/v1/keys', { name: 'sibling' }, session)
  const key = bearer(restricted.body.key)

  const inherited = await call(rig, 'POST', '/auth/v1/keys', { name: 'child' }, key)
  t.match(inherited, {
    status: 201,
    body: { models: ['llama3.2:*'], expires: restricted.body.expires, created_by_key: restricted.body.id },
  })
  const narrower = await call(rig, 'POST', '/auth/v1/keys', { models: ['llama3.2:3b'], expires_in: '1d' }, key)
  t.match(narrower, { status: 201, body: { models: ['llama3.2:3b'] } })
  for (const [body, detail] of [
    [{ models: ['qwen2.5:*'] }, /its own models.*qwen2.5/],
    [{ models: ['llama3.2:*', 'mistral'] }, /"mistral"/],
    [{ expires_in: '30d' }, /cannot outlive it/],
    [{ expires_in: '3650d', models: ['llama3.2:1b'] }, /cannot outlive it/],
  ] as const) {
    t.match(await call(rig, 'POST', '/auth/v1/keys', body, key), {
      status: 403,
      body: { code: 'key_broader_than_credential', detail },
    })
  }
  const child = bearer(inherited.body.key)
  t.equal(
    (await call(rig, 'POST', '/api/generate', { model: 'qwen2.5:0.5b', prompt: 'x', stream: false }, child)).status,
    403,
  )

  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${sibling.body.id}`, undefined, key), {
    status: 403,
    body: { code: 'permission_denied' },
  })
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${restricted.body.id}`, undefined, child), { status: 403 })
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${inherited.body.id}`, undefined, key), {
    status: 200,
    body: { state: 'revoked' },
  })
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${restricted.body.id}`, undefined, key), { status: 200 })
  t.match(await call(rig, 'DELETE', `/auth/v1/keys/${sibling.body.id}`, undefined, session), { status: 200 })
})

t.test('#10: bounded values in, any stored row out: a far date never breaks the key list', async (t) => {
  const rig = await startRig(t)
  const owner = rig.addKey({ username: 'far' })
  const headers = owner.headers
  for (const [body, detail] of [
    [{ expires_in: '99999999d' }, /"expires_in" is longer than the longest allowed/],
    [{ expires_in: '1e999' }, /"expires_in" must be a duration/],
    [{ expires_in: 5 }, /"expires_in" must be a duration/],
    [{ name: 'n'.repeat(10_000) }, /"name" is too long: 10000 characters, at most 100/],
    [{ name: 'a\u0000b' }, /"name" holds control characters/],
    [{ description: 'line\u202eevil' }, /"description" holds control characters/],
    [{ models: Array.from({ length: 101 }, (_, i) => `m${i}`) }, /"models" has 101 entries/],
    [{ models: ['m'.repeat(300)] }, /"models\[\]" is too long/],
  ] as const) {
    t.match(await call(rig, 'POST', '/auth/v1/keys', body, headers), {
      status: 400,
      body: { code: 'invalid_request', detail },
    })
  }
  t.equal(rig.gateway.store.keys.list(rig.gateway.store.users.get('far').id).length, 1, 'nothing stored')
  // A row written before the bounds existed: what `expires_in: "99999999d"` stored, and worse.
  const farAway = BigInt(Date.now()) + 99_999_999n * 86_400_000n
  rig.gateway.store.db
    .prepare('UPDATE api_keys SET expires_at = ?, last_used_at = ? WHERE id = ?')
    .run(farAway, -(2n ** 62n), owner.id)
  rig.gateway.authenticator.pollChanges()
  const listed = await call(rig, 'GET', '/auth/v1/keys', undefined, headers)
  t.match(listed, { status: 200, body: { keys: [{ id: owner.id, expires: '+275760-09-13T00:00:00.000Z' }] } })
  const cli = await runCli(['key', 'list', '--db', rig.config.database.path])
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, /\+275760-09-13T00:00:00\.000Z/)
  const cliKeyCreate = await runCli([
    'key',
    'create',
    '--user',
    'far',
    '--expires',
    '99999999d',
    '--db',
    rig.config.database.path,
  ])
  t.match(cliKeyCreate, { code: 2, stderr: /--expires: expected a duration .*at most 3650d/ })
})
