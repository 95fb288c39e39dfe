// Secrets the admin API handles (a password set over it, a key it issues or rotates, a webhook's signing secret) are
// answered once, to the call that made them, and appear nowhere else: not in any list or get, not in the log, not in
// the change feed's rows, not in the OpenAPI document, not in the usage CSV.
import t from 'tap'
import { adminCall } from '../helpers/adminApi.js'
import { startRig } from '../helpers/gateway.js'

t.test('admin API secrets are shown once and nowhere else', async (t) => {
  const rig = await startRig(t)
  const call = (method: string, path: string, body?: unknown) => adminCall(rig, method, path, { body })
  const password = 'Correct-Horse-Battery-42'
  const signing = 'whsec_' + Buffer.alloc(32, 7).toString('base64')
  t.equal((await call('POST', '/users', { name: 'sam', role: 'user', password })).status, 201)
  t.equal((await call('PUT', '/users/sam/password', { password: password + '!' })).status, 200)
  const created = await call('POST', '/keys', { user: 'sam', name: 'ci' })
  const rotated = await call('POST', `/keys/${created.body.id}/rotate`, { grace: '0s' })
  const hook = await call('POST', '/webhooks', { url: 'http://127.0.0.1:9/hook', events: '*', secret: signing })
  t.equal(hook.status, 201, JSON.stringify(hook.body))
  const login = await fetch(`${rig.url}/auth/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'sam', password: password + '!' }),
  })
  t.equal(login.status, 200)
  const tokens = (await login.json()) as Record<string, string>
  const secrets = [
    password,
    created.body.key,
    rotated.body.key,
    created.body.key.slice(-20),
    signing,
    tokens.access_token,
    tokens.refresh_token,
    '$argon2',
    '$scrypt',
  ].filter(Boolean)
  const seen: string[] = []
  for (const path of [
    '/users',
    '/users/sam',
    '/keys',
    `/keys/${created.body.id}`,
    `/keys/${rotated.body.id}`,
    '/webhooks',
    `/webhooks/${hook.body.id}`,
    '/usage?format=csv&by=key',
    '/usage/requests',
    '/overview',
    '/openapi.json',
  ]) {
    const response = await fetch(`${rig.url}/admin/v1${path}`, { headers: rig.headers })
    seen.push(`${path}: ${await response.text()}`)
  }
  seen.push(...rig.logs)
  const { db } = rig.gateway.store
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
    name: string
  }[]) {
    if (['users', 'api_keys', 'webhooks', 'sessions', 'refresh_tokens'].includes(name)) continue
    seen.push(`${name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all())}`)
  }
  for (const secret of secrets) {
    const where = seen.filter((text) => text.includes(secret)).map((text) => text.slice(0, 60))
    t.same(where, [], `${secret.slice(0, 12)}... appears nowhere`)
  }
})
