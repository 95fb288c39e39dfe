// Attack (issue 12 review): a request that never reached a backend used no tokens, yet its token reservation (the
// prompt's estimate plus num_predict, or the default estimate) stood: every backend refusing connections, or a refusal
// after the limits stage (no_backend, now that the route is picked after limits; a plugin's refusal), drained the
// caller's token limits by what the requests would have generated. A caller kept retrying through an outage found
// itself locked out for the day afterwards.
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function generate(rig: Rig, headers: Record<string, string>, predict: number) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false, options: { num_predict: predict } }),
  })
  const body = await response.body.text()
  return { status: response.statusCode, body, tokensLeft: Number(response.headers['x-ratelimit-remaining-tokens']) }
}

function limitKey(rig: Rig) {
  const { id, headers } = rig.addKey({ username: 'outage' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { tpd: 1000 } })
  rig.gateway.authenticator.pollChanges()
  return headers
}

t.test('every backend refusing the connection costs no tokens', async (t) => {
  // Port 1 on loopback: nothing listens, the connection is refused (the request never reaches a backend).
  const rig = await startRig(t, { backends: [{ url: 'http://127.0.0.1:1', name: 'down' }] })
  const headers = limitKey(rig)
  const first = await generate(rig, headers, 900)
  t.equal(first.status, 502, `the backend is unreachable (${first.body})`)
  // Its own reservation (900 + the prompt's estimate) is taken while it runs; what is left after must be all 1000.
  const second = await generate(rig, headers, 10)
  t.not(second.status, 429, second.body)
  t.ok(second.tokensLeft >= 900, `the day's 1000 tokens are all left but this request's few (${second.tokensLeft})`)
})

t.test('a refusal after the limits stage (no_backend) costs no tokens', async (t) => {
  const rig = await startRig(
    t,
    {},
    {},
    {},
    { stages: (built) => ({ ...built, schedule: undefined, route: () => undefined }) },
  )
  const headers = limitKey(rig)
  const first = await generate(rig, headers, 900)
  t.equal(first.status, 503, `no backend to pick (${first.body})`)
  // Its own reservation (900 + the prompt's estimate) is taken while it runs; what is left after must be all 1000.
  const second = await generate(rig, headers, 10)
  t.not(second.status, 429, second.body)
  t.ok(second.tokensLeft >= 900, `the day's 1000 tokens are all left but this request's few (${second.tokensLeft})`)
})
