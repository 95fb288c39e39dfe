// Attack (review 2): "every response to a limited caller carries the rate-limit headers" — also the answers that
// refuse the request after the caller was admitted (a bad body, a model outside the key, a key that is not there).
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('refusals after admission carry the rate-limit headers too', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'lim', models: ['llama3.2:3b'] })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { rpm: 100 } })
  rig.gateway.authenticator.pollChanges()
  const json = { ...headers, 'content-type': 'application/json' }
  const cases: [string, string, string | undefined][] = [
    ['DELETE', '/auth/v1/keys/nosuchkey0000', undefined],
    ['POST', '/auth/v1/keys', '{"models": 5}'],
    ['POST', '/auth/v1/keys', '{"models": ["*"]}'],
    ['POST', '/auth/v1/keys', '{nope'],
    ['GET', '/admin/v1/usage?since=yesterday', undefined],
    ['POST', '/api/generate', '{"model": "other:1b", "prompt": "hi"}'],
    ['POST', '/api/generate', '{nope'],
    ['POST', '/v1/chat/completions', '{"model": "other:1b", "messages": []}'],
    ['POST', '/api/show', '{}'],
  ]
  for (const [method, path, body] of cases) {
    const response = await request(`${rig.url}${path}`, { method: method as 'GET', headers: json, body })
    await response.body.dump()
    t.ok(response.statusCode >= 400, `${method} ${path} ${body ?? ''}: refused (${response.statusCode})`)
    t.equal(response.headers['x-ratelimit-limit'], '100', `${method} ${path} ${body ?? ''}: X-RateLimit-Limit`)
    t.ok(response.headers['ratelimit'], `${method} ${path} ${body ?? ''}: RateLimit`)
  }
})

t.test('requests refused before admission still spend the caller’s request limit', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'spender', models: ['llama3.2:3b'] })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { rpm: 3 } })
  rig.gateway.authenticator.pollChanges()
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: i % 2 ? '{nope' : '{"model": "forbidden:1b", "prompt": "hi"}',
    })
    await response.body.dump()
    statuses.push(response.statusCode)
  }
  t.same(statuses.slice(0, 3), [403, 400, 403], 'refused on their merits while within the limit')
  t.same(statuses.slice(3), [429, 429, 429], 'then the limit answers')
})

t.test('a 502 the gateway makes after admission carries the rate-limit headers', async (t) => {
  const rig = await startRig(t, { backends: [{ url: 'http://127.0.0.1:9', name: 'dead' }] })
  const { id, headers } = rig.addKey({ username: 'unlucky' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { rpm: 100 } })
  rig.gateway.authenticator.pollChanges()
  const cases: [string, string, string | undefined][] = [
    ['POST', '/api/generate', '{"model": "llama3.2:3b", "prompt": "hi"}'],
    ['GET', '/api/tags', undefined],
    ['GET', '/v1/models', undefined],
  ]
  for (const [method, path, body] of cases) {
    const response = await request(`${rig.url}${path}`, {
      method: method as 'GET',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    })
    await response.body.dump()
    t.equal(response.statusCode, 502, `${method} ${path}: 502`)
    t.equal(response.headers['x-ratelimit-limit'], '100', `${method} ${path}: X-RateLimit-Limit`)
  }
})
