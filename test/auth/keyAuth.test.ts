// Every way a credential can fail on the gateway routes, with the exact status and code; what each role may do; the
// model allow-list; revocation from a separate CLI process while the server runs.
import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { generateKey } from '../../src/auth/apiKeyFormat.js'
import { rotateKey } from '../../src/auth/keyIssuer.js'
import { roles, rolePermissions, type Role } from '../../src/auth/permissions.js'
import { routeAccess } from '../../src/api/routeTable.js'
import { runCli } from '../helpers/cli.js'
import { startRig, type Rig } from '../helpers/gateway.js'

async function generate(rig: Rig, headers: Record<string, string>, model = 'llama3.2:3b') {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model, prompt: 'hi', stream: false }),
    headers,
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(text) }
}

t.test('each credential failure: 401 with its own code and a Bearer challenge; nothing forwarded', async (t) => {
  const rig = await startRig(t)
  const { store } = rig.gateway
  const now = Date.now()
  const user = store.users.add({ username: 'carol', role: 'user' })
  const make = (fields: { expiresAt?: number }) => {
    const made = generateKey()
    store.keys.create({ id: made.id, userId: user.id, hash: made.hash, prefix: made.prefix, ...fields })
    return made
  }
  const expired = make({ expiresAt: now - 1000 })
  const revoked = make({})
  store.keys.revoke(revoked.id)
  const inGrace = make({})
  const successor = rotateKey(store.keys, inGrace.id, 60_000)
  const afterGrace = make({})
  rotateKey(store.keys, afterGrace.id, 0)
  const disabledUser = store.users.add({ username: 'dave', role: 'user' })
  const ofDisabled = generateKey()
  store.keys.create({ id: ofDisabled.id, userId: disabledUser.id, hash: ofDisabled.hash, prefix: ofDisabled.prefix })
  store.users.setActive('dave', false)
  const valid = rig.addKey().key
  const flipped = valid.slice(0, 20) + (valid[20] === 'A' ? 'B' : 'A') + valid.slice(21)
  const unknown = generateKey().key

  const cases: [string, Record<string, string>, string, RegExp?][] = [
    ['no credential', {}, 'missing_credential'],
    ['empty bearer', { authorization: 'Bearer ' }, 'missing_credential'],
    [
      'another scheme',
      { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      'invalid_api_key',
      /unsupported Authorization scheme/,
    ],
    ['malformed', { authorization: 'Bearer hello' }, 'invalid_api_key'],
    ['truncated key', { authorization: `Bearer ${valid.slice(0, -1)}` }, 'invalid_api_key'],
    ['wrong checksum', { authorization: `Bearer ${flipped}` }, 'invalid_api_key', /checksum/],
    ['unknown key', { authorization: `Bearer ${unknown}` }, 'invalid_api_key'],
    ['expired', { authorization: `Bearer ${expired.key}` }, 'key_expired'],
    ['revoked', { authorization: `Bearer ${revoked.key}` }, 'key_revoked'],
    ['rotated, grace over', { authorization: `Bearer ${afterGrace.key}` }, 'key_rotated'],
    ['user disabled', { authorization: `Bearer ${ofDisabled.key}` }, 'user_disabled'],
    ['x-api-key, revoked', { 'x-api-key': revoked.key }, 'key_revoked'],
  ]
  for (const [name, headers, code, message] of cases) {
    const response = await generate(rig, headers)
    t.equal(response.status, 401, `${name}: 401`)
    t.equal(response.body.code, code, `${name}: ${code}`)
    if (message) t.match(response.body.error, message)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="parallama"')
  }
  t.equal(rig.emulator.stats.requests, 0, 'no refused request reached the backend')

  t.equal((await generate(rig, { authorization: `Bearer ${inGrace.key}` })).status, 200, 'rotated, in grace: works')
  t.equal((await generate(rig, { authorization: `Bearer ${successor.key}` })).status, 200, 'its successor works')
  t.equal((await generate(rig, { 'x-api-key': valid })).status, 200, 'x-api-key is accepted')
  t.equal((await generate(rig, { authorization: `bearer ${valid}` })).status, 200, 'the scheme is case-insensitive')
  const sameUnknown = await generate(rig, { authorization: `Bearer ${unknown}` })
  t.equal(sameUnknown.body.code, 'invalid_api_key')
  t.equal(rig.gateway.authenticator.keys.stats.negativeHits, 1, 'an unknown key seen again does not reach SQLite')
  const lookups = rig.gateway.authenticator.keys.stats.lookups
  await generate(rig, { authorization: `Bearer ${valid}` })
  t.equal(rig.gateway.authenticator.keys.stats.lookups, lookups, 'a known key is served from the cache')
})

/** A request each route accepts, so that an allowed request goes through (to the emulator, or the auth API). */
const calls: Record<string, { method: string; path: string; body?: unknown }> = {
  'ollama.version': { method: 'GET', path: '/api/version' },
  'ollama.tags': { method: 'GET', path: '/api/tags' },
  'ollama.ps': { method: 'GET', path: '/api/ps' },
  'ollama.show': { method: 'POST', path: '/api/show', body: { model: 'llama3.2:3b' } },
  'ollama.generate': {
    method: 'POST',
    path: '/api/generate',
    body: { model: 'llama3.2:3b', prompt: 'x', stream: false },
  },
  'ollama.chat': { method: 'POST', path: '/api/chat', body: { model: 'llama3.2:3b', messages: [], stream: false } },
  'ollama.embed': { method: 'POST', path: '/api/embed', body: { model: 'nomic-embed-text', input: 'x' } },
  'ollama.embeddings': { method: 'POST', path: '/api/embeddings', body: { model: 'nomic-embed-text', prompt: 'x' } },
  'ollama.pull': { method: 'POST', path: '/api/pull', body: { model: 'tiny:1b', stream: false } },
  'ollama.push': { method: 'POST', path: '/api/push', body: { model: 'llama3.2:3b', stream: false } },
  'ollama.create': {
    method: 'POST',
    path: '/api/create',
    body: { model: 'mine:1', from: 'llama3.2:3b', stream: false },
  },
  'ollama.copy': { method: 'POST', path: '/api/copy', body: { source: 'llama3.2:3b', destination: 'copy:1' } },
  'ollama.delete': { method: 'DELETE', path: '/api/delete', body: { model: 'copy:1' } },
  'ollama.blobs': { method: 'HEAD', path: `/api/blobs/sha256:${'a'.repeat(64)}` },
  'ollama.root': { method: 'GET', path: '/' },
  'openai.chat_completions': {
    method: 'POST',
    path: '/v1/chat/completions',
    body: { model: 'llama3.2:3b', messages: [] },
  },
  'openai.completions': { method: 'POST', path: '/v1/completions', body: { model: 'llama3.2:3b', prompt: 'x' } },
  'openai.embeddings': { method: 'POST', path: '/v1/embeddings', body: { model: 'nomic-embed-text', input: 'x' } },
  'openai.responses': { method: 'POST', path: '/v1/responses', body: { model: 'llama3.2:3b', input: 'x' } },
  'openai.messages': {
    method: 'POST',
    path: '/v1/messages',
    body: { model: 'llama3.2:3b', max_tokens: 5, messages: [] },
  },
  'openai.models': { method: 'GET', path: '/v1/models' },
  'openai.model': { method: 'GET', path: '/v1/models/llama3.2:3b' },
  'auth.login': { method: 'POST', path: '/auth/v1/login', body: { username: 'nobody', password: 'wrong-password' } },
  'auth.refresh': { method: 'POST', path: '/auth/v1/refresh', body: { refresh_token: 'plr_x' } },
  'auth.logout': { method: 'POST', path: '/auth/v1/logout', body: { refresh_token: 'plr_x' } },
  'auth.me': { method: 'GET', path: '/auth/v1/me' },
  // SSO is off in this rig: each answers 404 sso_not_configured (or 200 "enabled": false), never 403.
  'auth.oidc_status': { method: 'GET', path: '/auth/v1/oidc' },
  'auth.oidc_login': { method: 'GET', path: '/auth/v1/oidc/login' },
  'auth.oidc_callback': { method: 'GET', path: '/auth/v1/oidc/callback?state=x&code=y' },
  'auth.oidc_token': { method: 'POST', path: '/auth/v1/oidc/token', body: { code: 'x' } },
  'auth.oidc_logout': { method: 'POST', path: '/auth/v1/oidc/logout', body: { refresh_token: 'plr_x' } },
  'auth.keys_list': { method: 'GET', path: '/auth/v1/keys' },
  'auth.keys_create': { method: 'POST', path: '/auth/v1/keys', body: { name: 'matrix' } },
  'auth.keys_revoke': { method: 'DELETE', path: '/auth/v1/keys/nosuchkey' },
  'admin.usage': { method: 'GET', path: '/admin/v1/usage' },
  'system.health': { method: 'GET', path: '/health' },
  'system.ready': { method: 'GET', path: '/ready' },
  'system.metrics': { method: 'GET', path: '/metrics' },
  'system.discovery': { method: 'GET', path: '/discovery' },
  'admin.usage_requests': { method: 'GET', path: '/admin/v1/usage/requests' },
  'admin.queue': { method: 'GET', path: '/admin/v1/queue' },
  // Backends that do not exist: an admin's call is answered 404, and changes nothing the other calls depend on.
  'admin.backends_list': { method: 'GET', path: '/admin/v1/backends' },
  'admin.backends_drain': { method: 'POST', path: '/admin/v1/backends/nosuch/drain' },
  'admin.backends_undrain': { method: 'POST', path: '/admin/v1/backends/nosuch/undrain' },
  'admin.models_list': { method: 'GET', path: '/admin/v1/models' },
  'admin.models_pull': { method: 'POST', path: '/admin/v1/models/pull', body: { model: 'x:1', backend: 'nosuch' } },
  'admin.models_copy': {
    method: 'POST',
    path: '/admin/v1/models/copy',
    body: { source: 'x:1', destination: 'y:1', backend: 'nosuch' },
  },
  'admin.models_delete': { method: 'DELETE', path: '/admin/v1/models/x:1?backend=nosuch' },
  'admin.compliance': { method: 'GET', path: '/admin/v1/compliance' },
  'admin.overview': { method: 'GET', path: '/admin/v1/overview' },
  // The admin API's objects: names that do not exist (an allowed role gets a 404, not a change).
  'admin.openapi': { method: 'GET', path: '/admin/v1/openapi.json' },
  'admin.users_list': { method: 'GET', path: '/admin/v1/users' },
  'admin.users_create': { method: 'POST', path: '/admin/v1/users', body: { name: 'matrix' } },
  'admin.users_get': { method: 'GET', path: '/admin/v1/users/nosuchuser' },
  'admin.users_patch': { method: 'PATCH', path: '/admin/v1/users/nosuchuser', body: { active: true } },
  'admin.users_delete': { method: 'DELETE', path: '/admin/v1/users/nosuchuser' },
  'admin.users_password': { method: 'PUT', path: '/admin/v1/users/nosuchuser/password', body: { password: null } },
  'admin.keys_list': { method: 'GET', path: '/admin/v1/keys' },
  'admin.keys_create': { method: 'POST', path: '/admin/v1/keys', body: { name: 'matrix' } },
  'admin.keys_get': { method: 'GET', path: '/admin/v1/keys/nosuchkey' },
  'admin.keys_revoke': { method: 'POST', path: '/admin/v1/keys/nosuchkey/revoke' },
  'admin.keys_rotate': { method: 'POST', path: '/admin/v1/keys/nosuchkey/rotate' },
  'admin.keys_patch': { method: 'PATCH', path: '/admin/v1/keys/nosuchkey', body: { allow_ip: null } },
  'admin.limits_list': { method: 'GET', path: '/admin/v1/limits' },
  'admin.limits_explain': { method: 'GET', path: '/admin/v1/limits/explain?user=nosuchuser' },
  'admin.limit_get': { method: 'GET', path: '/admin/v1/limits/user/nosuchuser' },
  'admin.limit_put': { method: 'PUT', path: '/admin/v1/limits/user/nosuchuser', body: { rpm: 1 } },
  'admin.limit_delete': { method: 'DELETE', path: '/admin/v1/limits/user/nosuchuser' },
  'admin.limit_reset': { method: 'POST', path: '/admin/v1/limits/user/nosuchuser/reset' },
  'admin.webhooks_list': { method: 'GET', path: '/admin/v1/webhooks' },
  'admin.webhooks_create': { method: 'POST', path: '/admin/v1/webhooks', body: { url: 'ftp://x/', events: '*' } },
  'admin.webhook_get': { method: 'GET', path: '/admin/v1/webhooks/wh_none' },
  'admin.webhook_delete': { method: 'DELETE', path: '/admin/v1/webhooks/wh_none' },
  'admin.webhook_test': { method: 'POST', path: '/admin/v1/webhooks/wh_none/test' },
  'admin.webhook_deliveries': { method: 'GET', path: '/admin/v1/webhooks/wh_none/deliveries' },
  'admin.audit_list': { method: 'GET', path: '/admin/v1/audit' },
  'admin.audit_verify': { method: 'GET', path: '/admin/v1/audit/verify' },
  // The response cache (off in this rig: an allowed role learns that, the others only that they may not ask).
  'admin.cache_stats': { method: 'GET', path: '/admin/v1/cache' },
  'admin.cache_purge': { method: 'DELETE', path: '/admin/v1/cache?model=nosuch:1' },
  // The Batch API's objects: ids that do not exist, and an upload that is not multipart (400, not a file).
  'openai.files_create': { method: 'POST', path: '/v1/files', body: {} },
  'openai.files_list': { method: 'GET', path: '/v1/files' },
  'openai.files_get': { method: 'GET', path: '/v1/files/file-none' },
  'openai.files_delete': { method: 'DELETE', path: '/v1/files/file-none' },
  'openai.files_content': { method: 'GET', path: '/v1/files/file-none/content' },
  'openai.batches_create': { method: 'POST', path: '/v1/batches', body: {} },
  'openai.batches_list': { method: 'GET', path: '/v1/batches' },
  'openai.batches_get': { method: 'GET', path: '/v1/batches/batch_none' },
  'openai.batches_cancel': { method: 'POST', path: '/v1/batches/batch_none/cancel' },
}

t.test('every route x every role: allowed exactly when the role has the permission the route needs', async (t) => {
  const rig = await startRig(t)
  const keys = Object.fromEntries(
    roles.map((role) => [role, rig.addKey({ role, username: `a-${role}` }).headers]),
  ) as Record<Role, Record<string, string>>
  t.same(Object.keys(calls).sort(), Object.keys(routeAccess).sort(), 'every route is walked')
  for (const [route, call] of Object.entries(calls)) {
    const access = routeAccess[route]!
    for (const role of roles) {
      const response = await request(`${rig.url}${call.path}`, {
        method: call.method as 'GET',
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        headers: keys[role],
      })
      const text = await response.body.text()
      const allowed = access === 'public' || access === 'authenticated' || rolePermissions[role].has(access)
      if (allowed) t.not(response.statusCode, 403, `${role} may use ${route}`)
      else {
        t.equal(response.statusCode, 403, `${role} may not use ${route}`)
        t.equal(response.headers['x-parallama-error'], 'permission_denied')
        if (call.method !== 'HEAD') t.match(text, /may not use this route/)
      }
    }
  }
})

t.test('model allow-lists: exact names and family:* on every spelling of a model, nothing more', async (t) => {
  const rig = await startRig(t)
  const family = rig.addKey({ models: ['llama3.2:*'] }).headers
  const exact = rig.addKey({ models: ['qwen2.5:0.5b'] }).headers
  const none = rig.addKey({ models: [] }).headers
  const cases: [Record<string, string>, string, boolean][] = [
    [family, 'llama3.2:3b', true],
    [family, 'LLAMA3.2:3B', true],
    [family, 'registry.ollama.ai/library/llama3.2:3b', true],
    [family, 'llama3.2', true],
    [family, 'qwen2.5:0.5b', false],
    [family, 'llama3.2-evil:3b', false],
    [family, 'llama3:8b', false],
    [family, 'someone/llama3.2:3b', false],
    [exact, 'qwen2.5:0.5b', true],
    [exact, 'qwen2.5', false],
    [exact, 'qwen2.5:0.5b-instruct', false],
    [none, 'llama3.2:3b', false],
  ]
  for (const [headers, model, allowed] of cases) {
    const response = await generate(rig, headers, model)
    if (allowed) t.not(response.status, 403, `${model} allowed`)
    else t.match(response, { status: 403, body: { code: 'model_not_allowed' } }, `${model} refused`)
  }
  const admin = rig.addKey({ role: 'admin', models: ['llama3.2:*'], username: 'boss' }).headers
  const copy = await request(`${rig.url}/api/copy`, {
    method: 'POST',
    body: JSON.stringify({ source: 'llama3.2:3b', destination: 'qwen2.5:stolen' }),
    headers: admin,
  })
  t.equal(copy.statusCode, 403, 'copy checks the destination as well as the source')
  await copy.body.dump()
})

t.test('a key revoked by a separate CLI process stops working within a second, without a restart', async (t) => {
  const rig = await startRig(t)
  const { key, id, headers } = rig.addKey()
  t.equal((await generate(rig, headers)).status, 200, 'works, and is now cached')
  const revoked = spawnSync(
    process.execPath,
    ['dist/cli/index.js', 'key', 'revoke', id, '--db', rig.config.database.path],
    {
      encoding: 'utf8',
    },
  )
  t.equal(revoked.status, 0, revoked.stderr)
  const deadline = Date.now() + 1000
  let status = 200
  while (Date.now() < deadline && status === 200) {
    status = (await generate(rig, headers)).status
    if (status === 200) await sleep(50)
  }
  t.equal(status, 401, 'refused within a second of the CLI exiting')
  const disabledUser = rig.addKey({ username: 'erin' })
  t.equal((await generate(rig, disabledUser.headers)).status, 200)
  t.equal((await runCli(['user', 'disable', 'erin', '--db', rig.config.database.path])).code, 0)
  const disabled = Date.now() + 1000
  let code = (await generate(rig, disabledUser.headers)).body.code
  while (Date.now() < disabled && code !== 'user_disabled') {
    await sleep(50)
    code = (await generate(rig, disabledUser.headers)).body.code
  }
  t.equal(code, 'user_disabled', 'disabling a user reaches the server too, within a second')
  t.notOk(rig.logs.join('\n').includes(key.slice(17)), 'no key material in the logs')
})

t.test('last-use times are written in batches, not per request', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey()
  for (let i = 0; i < 3; i++) await generate(rig, headers)
  t.equal(rig.gateway.store.keys.get(id).lastUsedAt, null, 'not written on the request path')
  rig.gateway.authenticator.flushLastUsed()
  t.ok(rig.gateway.store.keys.get(id).lastUsedAt! > Date.now() - 10_000, 'written by the batch')
})
