// The admin API must not leave the gateway without an active admin: deleting, demoting or disabling the last one (the
// caller themselves, typically) is a 409 that writes nothing; with a second active admin each of them goes through.
// Races: two admins demoting each other at once leave one admin, never none.
import t from 'tap'
import { adminCall } from '../helpers/adminApi.js'
import { expectMatches } from '../helpers/expectMatches.js'
import { startRig } from '../helpers/gateway.js'

t.test('the last active admin stays', async (t) => {
  const rig = await startRig(t)
  const { store } = rig.gateway
  const admins = () => store.users.list().filter((user) => user.role === 'admin' && user.active)
  const call = (method: string, path: string, body?: unknown) => adminCall(rig, method, path, { body })

  for (const [method, path, body] of [
    ['DELETE', '/users/admin', undefined],
    ['PATCH', '/users/admin', { role: 'user' }],
    ['PATCH', '/users/admin', { role: 'readonly' }],
    ['PATCH', '/users/admin', { active: false }],
    ['PATCH', '/users/admin', { role: 'user', weight: 3 }],
  ] as const) {
    const refused = await call(method, path, body)
    t.match(refused, { status: 409, body: { code: 'last_admin', detail: /last active admin/ } }, `${method} ${path}`)
    expectMatches(method === 'DELETE' ? 'users_delete' : 'users_patch', 409, refused.body)
    t.equal(admins().length, 1, 'nothing written')
    t.equal(store.users.get('admin').weight, 1)
  }

  // A disabled admin does not count: it cannot log in or use its keys.
  t.equal((await call('POST', '/users', { name: 'sleeper', role: 'admin' })).status, 201)
  t.equal((await call('PATCH', '/users/sleeper', { active: false })).status, 200)
  t.match(await call('PATCH', '/users/admin', { active: false }), { status: 409, body: { code: 'last_admin' } })
  t.equal((await call('DELETE', '/users/sleeper')).status, 200, 'a disabled admin may go')

  // With a second active admin, either may go; concurrent demotions of both leave exactly one.
  t.equal((await call('POST', '/users', { name: 'second', role: 'admin' })).status, 201)
  const both = await Promise.all([
    call('PATCH', '/users/second', { role: 'user' }),
    call('PATCH', '/users/admin', { role: 'user' }),
  ])
  t.same(both.map((answer) => answer.status).sort(), [200, 409])
  t.equal(admins().length, 1)
})
