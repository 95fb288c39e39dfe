// A change made over the admin API binds the very next request of the user it changes: a demoted admin's key must not
// keep admin rights, nor a disabled or deleted user's key or a revoked key work, for the moments until the change feed is next read.
import t from 'tap'
import { adminCall } from '../helpers/adminApi.js'
import { startRig } from '../helpers/gateway.js'

t.test('demote and disable bind the next request at once', async (t) => {
  const rig = await startRig(t)
  for (let round = 0; round < 5; round++) {
    const name = `ops${round}`
    const ops = rig.addKey({ role: 'admin', username: name })
    t.equal((await adminCall(rig, 'GET', '/users', { headers: ops.headers })).status, 200, 'an admin while admin')
    t.equal((await adminCall(rig, 'PATCH', `/users/${name}`, { body: { role: 'user' } })).status, 200)
    const after = await adminCall(rig, 'GET', '/users', { headers: ops.headers })
    t.equal(after.status, 403, 'demoted: no longer an admin')
    t.equal((await adminCall(rig, 'PATCH', `/users/${name}`, { body: { active: false } })).status, 200)
    const disabled = await adminCall(rig, 'GET', '/keys', { headers: ops.headers })
    t.match(disabled, { status: 401, body: { code: 'user_disabled' } }, 'disabled: the key is refused')
    const own = rig.addKey({ role: 'user', username: `${name}-own` })
    t.equal((await adminCall(rig, 'POST', `/keys/${own.id}/revoke`)).status, 200)
    t.match(await adminCall(rig, 'GET', '/keys', { headers: own.headers }), { status: 401 }, 'revoked: refused')
    t.equal((await adminCall(rig, 'DELETE', `/users/${name}`)).status, 200)
    t.match(await adminCall(rig, 'GET', '/keys', { headers: ops.headers }), { status: 401 }, 'deleted: refused')
  }
})
