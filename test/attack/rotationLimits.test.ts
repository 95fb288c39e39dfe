// Attack (review 2): rotating a key (`parallama key rotate`) made a successor with no limits: a key the admin had
// limited to 2 requests a minute came back unlimited under its new secret. The successor is the same credential and
// gets the limits set on the old key.
import t from 'tap'
import { request } from 'undici'
import { rotateKey } from '../../src/auth/keyIssuer.js'
import { startRig } from '../helpers/gateway.js'

t.test('a rotated key keeps its limits', async (t) => {
  const rig = await startRig(t)
  const old = rig.addKey({ username: 'rotor' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: old.id, gateway: '*', model: '', values: { rpm: 2 } })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: old.id,
    gateway: 'ollama',
    model: 'llama3.2:3b',
    values: { concurrency: 1 },
  })
  const successor = rotateKey(rig.gateway.store.keys, old.id, 60_000)
  rig.gateway.authenticator.pollChanges()
  const rules = rig.gateway.store.limits.all().filter((rule) => rule.subject === successor.record.id)
  t.equal(rules.length, 2, 'both rules of the old key are the successor’s too')
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${successor.key}`, 'content-type': 'application/json' },
      body: '{"model": "llama3.2:3b", "prompt": "hi", "stream": false}',
    })
    await response.body.dump()
    statuses.push(response.statusCode)
  }
  t.same(statuses, [200, 200, 429, 429], 'the successor is held to 2 requests a minute')
})
