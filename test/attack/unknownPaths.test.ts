// Attack (review 2): "every route is under the address guard" — the answers for paths and methods that are not
// routes too (404 for an unknown /auth, /admin or other path, 405 for a wrong method): an address past its limit got
// them as if unlimited.
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('404 and 405 answers are under the address guard', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.limits.set({
    subjectType: 'ip',
    subject: '127.0.0.0/8',
    gateway: '*',
    model: '',
    values: { rpm: 2 },
  })
  rig.gateway.authenticator.pollChanges()
  const tries: [string, string][] = [
    ['GET', '/auth/nope'],
    ['GET', '/admin/v1/nope'],
    ['GET', '/nope'],
    ['GET', '/v1/nope'],
    ['PUT', '/auth/v1/login'],
    ['DELETE', '/api/tags'],
  ]
  const statuses: number[] = []
  for (let round = 0; round < 2; round++) {
    for (const [method, path] of tries) {
      const response = await request(`${rig.url}${path}`, { method: method as 'GET' })
      await response.body.dump()
      statuses.push(response.statusCode)
      if (response.statusCode === 429) t.ok(response.headers['retry-after'], `${method} ${path}: Retry-After`)
    }
  }
  t.same(statuses.slice(0, 2), [404, 404], 'answered on their merits while within the limit')
  t.ok(
    statuses.slice(2).every((status) => status === 429),
    `then refused by the address guard (${statuses.join(' ')})`,
  )
})
