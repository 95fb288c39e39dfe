// Attack (review 2): a key made by a key is never broader than its maker — also in time: revoking a (leaked) key must
// end the keys it made, or whoever held it keeps a credential the owner cannot see coming from it. Rotation passes the
// keys a key made on to its successor (the same credential with a new secret).
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(rig: Rig, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    headers: { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.body.text()
  return { status: response.statusCode, body: text ? JSON.parse(text) : undefined }
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

t.test('revoking a key ends the keys it made, and theirs', async (t) => {
  const rig = await startRig(t)
  const maker = rig.addKey({ username: 'mallory' })
  const child = await call(rig, 'POST', '/auth/v1/keys', maker.headers, { name: 'child' })
  t.equal(child.status, 201)
  const grandchild = await call(rig, 'POST', '/auth/v1/keys', bearer(child.body.key), { name: 'grandchild' })
  t.equal(grandchild.status, 201)
  const sibling = rig.addKey({ username: 'mallory' })
  t.equal(
    (await call(rig, 'DELETE', `/auth/v1/keys/${maker.id}`, maker.headers)).status,
    200,
    'the maker revokes itself',
  )
  rig.gateway.authenticator.pollChanges()
  for (const [name, key] of [
    ['child', child.body.key],
    ['grandchild', grandchild.body.key],
  ]) {
    const me = await call(rig, 'GET', '/auth/v1/me', bearer(key))
    t.equal(me.status, 401, `the ${name} ends with its maker`)
  }
  t.equal((await call(rig, 'GET', '/auth/v1/me', sibling.headers)).status, 200, 'a key it did not make stays')
  const listed = await call(rig, 'GET', '/auth/v1/keys', sibling.headers)
  const states = Object.fromEntries(listed.body.keys.map((key: any) => [key.name ?? key.id, key.state]))
  t.match(states, { child: 'revoked', grandchild: 'revoked' }, 'and the list says so')
})

t.test('the CLI revoking a key ends what it made too (another connection)', async (t) => {
  const rig = await startRig(t)
  const maker = rig.addKey({ username: 'mona' })
  const child = await call(rig, 'POST', '/auth/v1/keys', maker.headers, {})
  rig.gateway.store.keys.revoke(maker.id)
  rig.gateway.authenticator.pollChanges()
  t.equal((await call(rig, 'GET', '/auth/v1/me', bearer(child.body.key))).status, 401)
})

t.test('rotation hands what a key made to its successor; revoking the retired key ends nothing more', async (t) => {
  const rig = await startRig(t)
  const maker = rig.addKey({ username: 'rose' })
  const child = await call(rig, 'POST', '/auth/v1/keys', maker.headers, { name: 'child' })
  const { rotateKey } = await import('../../src/auth/keyIssuer.js')
  const successor = rotateKey(rig.gateway.store.keys, maker.id, 60_000)
  rig.gateway.store.keys.revoke(maker.id)
  rig.gateway.authenticator.pollChanges()
  t.equal((await call(rig, 'GET', '/auth/v1/me', bearer(child.body.key))).status, 200, 'the child lives on')
  t.ok(rig.gateway.store.keys.madeBy(child.body.id, successor.record.id), 'made by the successor now')
  rig.gateway.store.keys.revoke(successor.record.id)
  rig.gateway.authenticator.pollChanges()
  t.equal((await call(rig, 'GET', '/auth/v1/me', bearer(child.body.key))).status, 401, 'and ends with it')
})
