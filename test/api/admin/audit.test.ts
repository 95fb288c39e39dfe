// The audit log over the real server: API changes recorded with the user, key id, client address and request id;
// password logins (success and failure), refresh and logout from the dashboard; a permission refusal on an admin route
// recorded as denied; backend drain and usage reads; GET /admin/v1/audit (paged, filtered, itself recorded, admin
// only) and /audit/verify, both checked against the OpenAPI document.
import t from 'tap'
import { hashPassword } from '../../../src/auth/passwords.js'
import { adminCall, walkPages } from '../../helpers/adminApi.js'
import { expectMatches } from '../../helpers/expectMatches.js'
import { startRig } from '../../helpers/gateway.js'

t.test('the audit log over the admin API', async (t) => {
  const rig = await startRig(t)
  const call = (method: string, path: string, options?: Parameters<typeof adminCall>[3]) =>
    adminCall(rig, method, path, options)
  const adminKeyId = rig.key.split('_')[1]

  const created = await call('POST', '/users', { body: { name: 'bea', role: 'user' } })
  t.equal(created.status, 201)
  const requestId = created.headers.get('x-request-id')
  const key = await call('POST', '/keys', { body: { user: 'bea' } })
  t.equal((await call('POST', '/backends/emulator/drain')).status, 200)
  t.equal((await call('GET', '/usage?by=user')).status, 200)
  const user = rig.addKey({ role: 'user' })
  t.match(await call('GET', '/users', { headers: user.headers }), { status: 403 })

  rig.gateway.store.users.setPassword('bea', await hashPassword('a long password'))
  const login = (password: string) =>
    fetch(`${rig.url}/auth/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bea', password }),
    })
  t.equal((await login('wrong password')).status, 401)
  const pair = (await (await login('a long password')).json()) as { access_token: string; refresh_token: string }
  const refreshed = await fetch(`${rig.url}/auth/v1/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: pair.refresh_token }),
  })
  t.equal(refreshed.status, 200)
  const session = (await refreshed.json()) as { access_token: string; refresh_token: string }
  const out = await fetch(`${rig.url}/auth/v1/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.access_token}` },
    body: JSON.stringify({ refresh_token: session.refresh_token }),
  })
  t.equal(out.status, 200)

  const page = await call('GET', '/audit?limit=100')
  t.equal(page.status, 200)
  expectMatches('audit_list', 200, page.body)
  const rows = page.body.items as any[]
  const find = (action: string, result = 'ok') => rows.find((row) => row.action === action && row.result === result)
  t.match(find('audit.read'), { seq: rows[0].seq, actor: { source: 'api', user: 'admin' } }, 'the read, newest')
  t.match(find('user.create'), {
    actor: { source: 'api', user: 'admin', key_id: adminKeyId, client_ip: '127.0.0.1' },
    target: 'user:bea',
    request_id: requestId,
    after: { role: 'user', has_password: false },
  })
  t.match(find('key.create'), { target: `key:${key.body.id}`, after: { user: 'bea' } })
  t.match(find('key.reveal'), { target: `key:${key.body.id}` })
  t.notMatch(JSON.stringify(rows), key.body.key, 'no secret in the log')
  t.notMatch(JSON.stringify(rows), pair.access_token, 'no token in the log')
  t.match(find('backend.drain'), { target: 'backend:emulator', after: { draining: true } })
  t.match(find('usage.export'), { after: { by: 'user' } })
  t.match(find('admin.users_list', 'denied'), {
    actor: { user: /^user\d/, key_id: user.id },
    error: 'permission_denied',
    target: 'route:/admin/v1/users',
  })
  t.match(find('login', 'failed'), { target: 'user:bea', error: 'invalid_credentials', actor: { user: null } })
  t.match(find('login'), { target: 'user:bea', actor: { source: 'dashboard', user: 'bea' } })
  t.match(find('login.refresh'), { actor: { source: 'dashboard', user: 'bea' } })
  t.match(find('logout'), { actor: { source: 'dashboard', user: 'bea' }, target: 'user:bea' })

  const filtered = await call('GET', '/audit?action=user.create&user=admin&since=1h')
  t.match(filtered.body.items, [{ action: 'user.create', target: 'user:bea' }])
  const walked = await walkPages(rig, '/audit?action=audit.read', 1)
  t.ok(walked.pages >= 2, 'pages by seq')
  const seqs = walked.items.map((row) => row.seq)
  t.same(
    seqs,
    [...seqs].sort((a, b) => b - a),
    'newest first, none twice',
  )
  t.match(await call('GET', '/audit?since=soon'), { status: 400, body: { detail: /since/ } })
  t.match(await call('GET', '/audit?cursor=nope'), { status: 400 })
  t.match(await call('GET', '/audit?color=red'), { status: 400 })
  t.match(await call('GET', '/audit', { headers: user.headers }), { status: 403 })

  const verified = await call('GET', '/audit/verify')
  expectMatches('audit_verify', 200, verified.body)
  t.match(verified.body, { ok: true, first: 1 })
  const last = await call('GET', '/audit?limit=1')
  t.match(last.body.items, [{ action: 'audit.read' }])
  t.equal(last.body.items[0].seq, verified.body.last.seq + 2, 'verify and the read after it are recorded')

  rig.gateway.reload(rig.config)
  rig.gateway.accounting.maintain(Date.now() + 401 * 86_400_000)
  const after = await call('GET', '/audit?limit=3')
  t.match(after.body.items, [
    { action: 'audit.read' },
    { action: 'audit.prune', actor: { source: 'system' } },
    // The reload's row went with the prune (older than the retention at that future hour); the prune's anchor stays.
  ])
  t.match((await call('GET', '/audit/verify')).body, { ok: true, anchor: { seq: after.body.items[1].seq - 1 } })
})

t.test('a config reload is recorded as the system', async (t) => {
  const rig = await startRig(t)
  rig.gateway.reload(rig.config)
  const rows = (await adminCall(rig, 'GET', '/audit?action=config.reload')).body.items
  t.match(rows, [{ target: 'config', result: 'ok', actor: { source: 'system' }, after: { restart_needed: [] } }])
})
