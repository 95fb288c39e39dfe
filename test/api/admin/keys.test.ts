// /admin/v1/keys over the real server: an admin manages anyone's keys, a user (manage_own_keys) only their own; a key
// made here works at once and stops when revoked; rotation with grace; If-Match; pages; generated bad bodies.
import fc from 'fast-check'
import t from 'tap'
import { adminCall, walkPages } from '../../helpers/adminApi.js'
import { expectMatches } from '../../helpers/expectMatches.js'
import { startRig } from '../../helpers/gateway.js'

t.test('keys over the admin API', async (t) => {
  const rig = await startRig(t)
  const { store } = rig.gateway
  const call = (method: string, path: string, options?: Parameters<typeof adminCall>[3]) =>
    adminCall(rig, method, path, options)
  const tags = async (key: string) =>
    (await fetch(`${rig.url}/api/tags`, { headers: { authorization: `Bearer ${key}` } })).status
  const dana = rig.addKey({ role: 'user', username: 'dana' })
  const eli = rig.addKey({ role: 'user', username: 'eli' })

  let created: { id: string; key: string }
  await t.test('an admin creates a key for a user; it works at once; show, list', async (t) => {
    const answer = await call('POST', '/keys', {
      body: { user: 'dana', name: 'laptop', models: ['llama3.2:*'], expires: '30d' },
    })
    t.equal(answer.status, 201)
    expectMatches('keys_create', 201, answer.body)
    t.match(answer.body, { user: 'dana', name: 'laptop', models: ['llama3.2:*'], state: 'active' })
    t.ok(answer.headers.get('etag'))
    created = answer.body
    t.equal(await tags(created.key), 200, 'the new key is accepted')
    const shown = await call('GET', `/keys/${created.id}`)
    expectMatches('keys_get', 200, shown.body)
    t.notOk('key' in shown.body, 'the secret is shown once only')
    const listed = await call('GET', '/keys?user=dana')
    expectMatches('keys_list', 200, listed.body)
    t.same(listed.body.items.map((key: { id: string }) => key.id).sort(), [dana.id, created.id].sort())
    t.match(await call('GET', '/keys?user=nobody'), { status: 404, body: { code: 'user_not_found' } })
    t.match(await call('GET', '/keys/nope'), { status: 404, body: { code: 'key_not_found' } })
    const bad = await call('POST', '/keys', { body: { user: 'dana', models: ['not a model!'] } })
    t.match(bad, { status: 400, body: { code: 'invalid_request' } })
    expectMatches('keys_create', 400, bad.body)
  })

  await t.test('a user sees and changes only their own keys', async (t) => {
    const own = await call('POST', '/keys', { headers: dana.headers, body: { name: 'mine' } })
    t.equal(own.status, 201)
    t.equal(own.body.user, 'dana')
    t.equal(own.body.created_by_key, dana.id, 'made by the calling key: it ends with it')
    const list = await call('GET', '/keys', { headers: dana.headers })
    t.ok(list.body.items.every((key: { user: string }) => key.user === 'dana'))
    t.match(await call('GET', '/keys?user=eli', { headers: dana.headers }), {
      status: 403,
      body: { code: 'permission_denied' },
    })
    t.match(await call('POST', '/keys', { headers: dana.headers, body: { user: 'eli' } }), { status: 403 })
    t.match(await call('GET', `/keys/${eli.id}`, { headers: dana.headers }), { status: 404 })
    t.match(await call('POST', `/keys/${eli.id}/revoke`, { headers: dana.headers }), { status: 404 })
    t.equal(await tags(eli.key), 200, "eli's key still works")
    const broader = await call('POST', '/keys', {
      headers: own.body.key ? { authorization: `Bearer ${own.body.key}` } : {},
      body: {},
    })
    t.equal(broader.status, 201, 'a key may make a key as narrow as itself')
    // The laptop key (made by the admin) is not one dana's calling key made: a key changes only itself and its own.
    const refused = await call('POST', `/keys/${created.id}/revoke`, { headers: dana.headers })
    t.match(refused, { status: 403, body: { code: 'permission_denied' } })
    const readonly = rig.addKey({ role: 'readonly', username: 'reader' })
    t.match(await call('GET', '/keys', { headers: readonly.headers }), { status: 403 })
  })

  await t.test('revoke: refused at once, a key.revoked change; twice is a 409', async (t) => {
    const from = store.feed.latestId()
    const revoked = await call('POST', `/keys/${created.id}/revoke`)
    t.equal(revoked.status, 200)
    expectMatches('keys_revoke', 200, revoked.body)
    t.equal(revoked.body.state, 'revoked')
    t.same(
      store.feed.changesSince(from).map((change) => change.kind),
      ['key_revoked'],
    )
    rig.gateway.authenticator.pollChanges()
    t.equal(await tags(created.key), 401, 'the revoked key is refused')
    const again = await call('POST', `/keys/${created.id}/revoke`)
    t.match(again, { status: 409, body: { code: 'key_not_active' } })
    expectMatches('keys_revoke', 409, again.body)
  })

  await t.test('rotate: a successor, the old key in grace; If-Match', async (t) => {
    const read = await call('GET', `/keys/${eli.id}`)
    const tag = read.headers.get('etag')!
    const rotated = await call('POST', `/keys/${eli.id}/rotate`, {
      headers: { ...rig.headers, 'if-match': tag },
      body: { grace: '1h' },
    })
    t.equal(rotated.status, 201)
    expectMatches('keys_rotate', 201, rotated.body)
    t.match(rotated.body, {
      user: 'eli',
      replaces: { id: eli.id, state: 'rotated (in grace)', replaced_by: rotated.body.id },
    })
    t.equal(await tags(rotated.body.key), 200, 'the successor works')
    t.equal(await tags(eli.key), 200, 'the old key works in its grace period')
    const stale = await call('POST', `/keys/${eli.id}/revoke`, { headers: { ...rig.headers, 'if-match': tag } })
    t.match(stale, { status: 412, body: { code: 'precondition_failed' } })
    t.match(await call('POST', `/keys/${eli.id}/rotate`, { body: {} }), {
      status: 409,
      body: { code: 'key_not_active' },
    })
    t.match(await call('POST', `/keys/${rotated.body.id}/rotate`, { body: { grace: 'soon' } }), {
      status: 400,
      body: { detail: /"grace"/ },
    })
  })

  await t.test('generated bad bodies: never a 5xx; a refusal writes nothing', async (t) => {
    const field = fc.constantFrom('user', 'name', 'description', 'models', 'expires', 'grace', 'x')
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/keys', `/keys/${dana.id}/rotate`),
        fc.oneof(fc.jsonValue(), fc.dictionary(field, fc.jsonValue(), { minKeys: 1 })),
        async (path, body) => {
          const feed = store.feed.latestId()
          const answer = await call('POST', path, { body })
          if (answer.status < 300) return true
          // 409: a key an earlier generated body rotated is no longer active (key_not_active).
          t.ok([400, 403, 404, 409].includes(answer.status), `${path} ${JSON.stringify(body)}: ${answer.status}`)
          return store.feed.latestId() === feed
        },
      ),
      { numRuns: 50 },
    )
  })

  await t.test('a walk over pages shows every key once', async (t) => {
    for (let i = 0; i < 5; i++) await call('POST', '/keys', { body: { user: 'eli', name: `k${i}` } })
    const all = store.keys.list().map((key) => key.id)
    const { items, pages } = await walkPages(rig, '/keys', 2)
    t.ok(pages > 2)
    t.same(items.map((key: { id: string }) => key.id).sort(), [...all].sort())
  })
})
