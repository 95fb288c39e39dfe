// Attack (review 2): a credential only makes narrower credentials — limits too. Limits set on a key (`limit set
// --key`) did not bind the keys it makes: a key limited to 2 requests a minute minted a child through POST /auth/v1/keys,
// and the child fell back to the user's, role's or default limits (here none at all). A key made by a key is now
// under its makers' key rules, sharing their counters, where it has none of its own.
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('a key made by a rate-limited key is under its maker’s key limits', async (t) => {
  const rig = await startRig(t)
  const maker = rig.addKey({ username: 'capped' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: maker.id, gateway: '*', model: '', values: { rpm: 2 } })
  rig.gateway.authenticator.pollChanges()
  const made = await request(`${rig.url}/auth/v1/keys`, {
    method: 'POST',
    headers: { ...maker.headers, 'content-type': 'application/json' },
    body: '{"name": "escape"}',
  })
  const child = (await made.body.json()) as { key: string }
  t.equal(made.statusCode, 201, 'the maker spent one of its 2 requests making the child')
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${child.key}`, 'content-type': 'application/json' },
      body: '{"model": "llama3.2:3b", "prompt": "hi", "stream": false}',
    })
    await response.body.dump()
    statuses.push(response.statusCode)
  }
  t.same(statuses, [200, 429, 429, 429, 429], 'the child shares the maker’s 2 requests a minute')
})
