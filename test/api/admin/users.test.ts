// /admin/v1/users over the real server: add, list (pages, filters), show, change, password, delete; ETag and If-Match
// between two admins; permission refusals; generated bad bodies are a 400 problem and write nothing. Every answer is
// checked against the schema the route documents.
import fc from 'fast-check'
import t from 'tap'
import { adminCall, walkPages } from '../../helpers/adminApi.js'
import { expectMatches } from '../../helpers/expectMatches.js'
import { startRig } from '../../helpers/gateway.js'

t.test('users over the admin API', async (t) => {
  const rig = await startRig(t)
  const { store } = rig.gateway
  const call = (method: string, path: string, options?: Parameters<typeof adminCall>[3]) =>
    adminCall(rig, method, path, options)

  await t.test('add, show, list', async (t) => {
    const added = await call('POST', '/users', { body: { name: 'kim', role: 'user', email: 'kim@example.org' } })
    t.equal(added.status, 201)
    expectMatches('users_create', 201, added.body)
    t.match(added.body, { username: 'kim', role: 'user', active: true, password: false, keys: 0 })
    t.match(added.headers.get('etag'), /^"[A-Za-z0-9_-]+"$/)
    const shown = await call('GET', '/users/kim')
    expectMatches('users_get', 200, shown.body)
    t.same(shown.body, added.body)
    t.equal(shown.headers.get('etag'), added.headers.get('etag'), 'the same version, the same tag')
    const list = await call('GET', '/users?role=user&q=k')
    expectMatches('users_list', 200, list.body)
    t.same(
      list.body.items.map((user: { username: string }) => user.username),
      ['kim'],
    )
    const taken = await call('POST', '/users', { body: { name: 'kim' } })
    t.match(taken, { status: 409, body: { code: 'user_exists' } })
    expectMatches('users_create', 409, taken.body)
    const missing = await call('GET', '/users/nobody')
    t.match(missing, { status: 404, body: { code: 'user_not_found' } })
    expectMatches('users_get', 404, missing.body)
    const badFilter = await call('GET', '/users?active=maybe')
    t.match(badFilter, { status: 400, body: { detail: /"active"/ } })
  })

  await t.test('change: each field one event, as the CLI records it', async (t) => {
    const from = store.feed.latestId()
    const changed = await call('PATCH', '/users/kim', {
      body: { role: 'readonly', display_name: 'Kim', weight: 2, active: false },
    })
    t.equal(changed.status, 200)
    expectMatches('users_patch', 200, changed.body)
    t.match(changed.body, { role: 'readonly', display_name: 'Kim', weight: 2, active: false })
    const kinds = store.feed.changesSince(from).map((change) => change.kind)
    t.same(kinds, ['role_changed', 'user_changed', 'user_changed', 'user_disabled'])
    const empty = await call('PATCH', '/users/kim', { body: {} })
    t.match(empty, { status: 400, body: { code: 'invalid_request', detail: /at least one/ } })
    const typo = await call('PATCH', '/users/kim', { body: { rol: 'admin' } })
    t.match(typo, { status: 400, body: { detail: /unknown field "rol"/ } })
    const weight = await call('PATCH', '/users/kim', { body: { weight: 0 } })
    t.match(weight, { status: 400, body: { detail: /"weight"/ } })
    t.match((await call('PATCH', '/users/nobody', { body: { active: true } })).body, { code: 'user_not_found' })
  })

  await t.test('two admins: the second change on a stale ETag is a 412, the first stays', async (t) => {
    const read = await call('GET', '/users/kim')
    const tag = read.headers.get('etag')!
    const first = await call('PATCH', '/users/kim', {
      headers: { ...rig.headers, 'if-match': tag },
      body: { role: 'user' },
    })
    t.equal(first.status, 200)
    t.not(first.headers.get('etag'), tag, 'a change gives a new tag')
    const second = await call('PATCH', '/users/kim', {
      headers: { ...rig.headers, 'if-match': tag },
      body: { role: 'admin' },
    })
    t.match(second, { status: 412, body: { code: 'precondition_failed' } })
    expectMatches('users_patch', 412, second.body)
    t.equal(store.users.get('kim').role, 'user', "the first admin's change was not overwritten")
    // A change from the CLI's side (the store) between read and write is caught the same way.
    const before = (await call('GET', '/users/kim')).headers.get('etag')!
    store.users.setWeight('kim', 3)
    const stale = await call('DELETE', '/users/kim', { headers: { ...rig.headers, 'if-match': before } })
    t.equal(stale.status, 412)
    t.ok(store.users.find('kim'), 'not deleted')
    const weak = await call('PATCH', '/users/kim', {
      headers: { ...rig.headers, 'if-match': `W/${first.headers.get('etag')}` },
      body: { active: true },
    })
    t.equal(weak.status, 412, 'a weak tag never matches')
    const any = await call('PATCH', '/users/kim', {
      headers: { ...rig.headers, 'if-match': '*' },
      body: { active: true },
    })
    t.equal(any.status, 200)
  })

  await t.test('races: of many concurrent changes on one tag, exactly one wins', async (t) => {
    const tag = (await call('GET', '/users/kim')).headers.get('etag')!
    const answers = await Promise.all(
      [0.5, 1.5, 2.5, 3.5, 4.5].map((weight) =>
        call('PATCH', '/users/kim', { headers: { ...rig.headers, 'if-match': tag }, body: { weight } }),
      ),
    )
    const statuses = answers.map((answer) => answer.status).sort()
    t.same(statuses, [200, 412, 412, 412, 412])
    const winner = answers.find((answer) => answer.status === 200)!
    t.equal(store.users.get('kim').weight, winner.body.weight, "the winner's change is what is stored")
  })

  await t.test('password: set, then log in; null removes it', async (t) => {
    const short = await call('PUT', '/users/kim/password', { body: { password: 'short' } })
    t.match(short, { status: 400, body: { detail: /8 characters/ } })
    const set = await call('PUT', '/users/kim/password', { body: { password: 'a long password' } })
    t.equal(set.status, 200)
    expectMatches('users_password', 200, set.body)
    t.equal(set.body.password, true)
    const login = await fetch(`${rig.url}/auth/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'kim', password: 'a long password' }),
    })
    t.equal(login.status, 200, 'the new password logs in')
    const removed = await call('PUT', '/users/kim/password', { body: { password: null } })
    t.equal(removed.body.password, false)
    t.match(await call('PUT', '/users/kim/password', { body: {} }), { status: 400, body: { detail: /required/ } })
  })

  await t.test('permissions: only manage_users', async (t) => {
    const user = rig.addKey({ role: 'user', username: 'plain' })
    for (const [method, path] of [
      ['GET', '/users'],
      ['POST', '/users'],
      ['GET', '/users/kim'],
      ['PATCH', '/users/kim'],
      ['DELETE', '/users/kim'],
      ['PUT', '/users/kim/password'],
    ] as const) {
      const body = method === 'GET' ? undefined : {}
      const refused = await call(method, path, { headers: user.headers, body })
      t.match(refused, { status: 403, body: { code: 'permission_denied' } }, `${method} ${path}`)
      const anonymous = await call(method, path, { headers: {} })
      t.equal(anonymous.status, 401, `${method} ${path} without a credential`)
    }
  })

  await t.test('generated bad bodies: a 400 problem, never a 5xx, nothing written', async (t) => {
    const field = fc.constantFrom('name', 'role', 'email', 'display_name', 'password', 'active', 'weight', 'x')
    const body = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(field, fc.jsonValue(), { minKeys: 1 }),
      fc.string().map((text) => ({ raw: text })),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST /users', 'PATCH /users/kim', 'PUT /users/kim/password'),
        body,
        async (route, value) => {
          const [method, path] = route.split(' ') as [string, string]
          const feed = store.feed.latestId()
          const users = store.users.list().length
          const raw =
            typeof value === 'object' && value !== null && 'raw' in value && typeof value.raw === 'string'
              ? value.raw
              : undefined
          const answer = await call(method, path, raw === undefined ? { body: value } : { rawBody: raw })
          if (answer.status < 300) return true
          t.ok(answer.status === 400 || answer.status === 409, `${route} ${JSON.stringify(value)}: ${answer.status}`)
          if (answer.status !== 400) return true
          expectMatches(
            path.endsWith('password') ? 'users_password' : method === 'POST' ? 'users_create' : 'users_patch',
            400,
            answer.body,
          )
          return store.feed.latestId() === feed && store.users.list().length === users
        },
      ),
      { numRuns: 60 },
    )
  })

  await t.test('a walk over pages shows every user exactly once while others are added', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 4 }), async (limit, addedPerPage) => {
        const present = store.users.list().map((user) => user.username)
        // Added before and after the cursor (names sort around the present ones), for the first pages only.
        let pages = 0
        const { items } = await walkPages(rig, '/users', limit, () => {
          if (++pages > 4) return
          for (let i = 0; i < addedPerPage; i++) {
            const prefix = i % 2 === 0 ? 'a' : 'z'
            store.users.add({ username: `${prefix}walk${store.users.list().length}`, role: 'user' })
          }
        })
        const seen = items.map((user: { username: string }) => user.username)
        t.equal(new Set(seen).size, seen.length, 'no user twice')
        for (const username of present) t.ok(seen.includes(username), `${username} seen`)
        return true
      }),
      { numRuns: 6 },
    )
    const bad = await call('GET', '/users?cursor=bm90LW91cnM')
    t.match(bad, { status: 400, body: { detail: /"cursor"/ } })
    t.match(await call('GET', '/users?limit=501'), { status: 400, body: { detail: /"limit"/ } })
  })

  await t.test('delete: the user with their keys', async (t) => {
    rig.addKey({ username: 'kim' })
    const deleted = await call('DELETE', '/users/kim')
    t.match(deleted, { status: 200, body: { deleted: 'kim', keys: 1 } })
    expectMatches('users_delete', 200, deleted.body)
    t.equal((await call('GET', '/users/kim')).status, 404)
    t.equal((await call('DELETE', '/users/kim')).status, 404)
  })
})
