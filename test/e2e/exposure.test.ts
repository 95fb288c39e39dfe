// What the gateway exposes, and to whom: every route under the address guard and the caller's limits (probes
// excepted), bounded usage queries, model lists filtered by the credential on the native API too, and backend
// addresses shown to admins only.
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(rig: Rig, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.body.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.statusCode, headers: response.headers, text, json }
}

const rateHeaders = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'ratelimit-policy',
  'ratelimit',
]

t.test(
  'a limited user’s calls to /auth/v1/me, /admin/v1/usage and /discovery count, and are refused past the limit',
  async (t) => {
    const rig = await startRig(t)
    const { id, headers } = rig.addKey({ username: 'counted' })
    rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { rpm: 3 } })
    rig.gateway.authenticator.pollChanges()
    // /admin/v1/usage first waits for the usage writer thread to start (seconds on a loaded machine, loading it from
    // TypeScript): started before the three calls, so they fall within one refill of the bucket.
    await rig.gateway.accounting.recorder.settled()
    const answers = [
      await call(rig, 'GET', '/auth/v1/me', headers),
      await call(rig, 'GET', '/admin/v1/usage', headers),
      await call(rig, 'GET', '/discovery', headers),
    ]
    t.same(
      answers.map((answer) => [answer.status, answer.headers['x-ratelimit-remaining']]),
      [
        [200, '2'],
        [200, '1'],
        [200, '0'],
      ],
      'each call takes one request from the key’s limit and says what is left',
    )
    for (const path of ['/auth/v1/me', '/admin/v1/usage/requests', '/discovery', '/auth/v1/keys']) {
      const refused = await call(rig, 'GET', path, headers)
      t.equal(refused.status, 429, `${path} is refused past the limit`)
      t.match(refused.json, { code: 'rate_limit_exceeded', detail: /3 requests per minute \(API key \w+\)/ })
      for (const name of [...rateHeaders, 'retry-after'])
        t.ok(refused.headers[name], `${path}: the 429 carries ${name}`)
      t.equal(refused.headers['x-ratelimit-remaining'], '0')
    }
    t.equal((await call(rig, 'GET', '/health')).status, 200, 'probes are not limited')
    t.equal((await call(rig, 'GET', '/auth/v1/me', rig.headers)).status, 200, 'another caller is not affected')
  },
)

t.test(
  'an address rule guards /auth/v1/login, /auth/v1/refresh and /metrics; /health and /ready are probes',
  async (t) => {
    const rig = await startRig(t)
    rig.gateway.store.limits.set({
      subjectType: 'ip',
      subject: '127.0.0.0/8',
      gateway: '*',
      model: '',
      values: { rpm: 2 },
    })
    rig.gateway.authenticator.pollChanges()
    const login = () => call(rig, 'POST', '/auth/v1/login', {}, { username: 'nobody', password: 'wrong-password' })
    t.equal((await login()).status, 401)
    t.equal((await login()).status, 401)
    const refused = await login()
    t.equal(refused.status, 429, 'the third login from the address is refused before any password work')
    t.match(refused.json, { code: 'rate_limit_exceeded', detail: /address 127\.0\.0\.1, range 127\.0\.0\.0\/8/ })
    t.ok(refused.headers['retry-after'])
    t.equal((await call(rig, 'POST', '/auth/v1/refresh', {}, { refresh_token: 'x' })).status, 429)
    t.equal((await call(rig, 'GET', '/metrics')).status, 429)
    t.equal((await call(rig, 'GET', '/health')).status, 200)
    t.not((await call(rig, 'GET', '/ready')).status, 429)
  },
)

t.test('usage queries are bounded: a page of 500 rows, 7 days of rows, 366 days of report', async (t) => {
  const rig = await startRig(t)
  t.match(await call(rig, 'GET', '/admin/v1/usage/requests?limit=501', rig.headers), {
    status: 400,
    json: { code: 'invalid_request', detail: /"limit" must be a whole number from 1 to 500/ },
  })
  t.match(await call(rig, 'GET', '/admin/v1/usage/requests?since=30d', rig.headers), {
    status: 400,
    json: { detail: /spans 30 days; one query covers at most 7 days/ },
  })
  t.match(await call(rig, 'GET', '/admin/v1/usage?since=2000-01-01&until=2026-01-01', rig.headers), {
    status: 400,
    json: { detail: /at most 366 days/ },
  })
  t.equal((await call(rig, 'GET', '/admin/v1/usage?since=365d&by=hour', rig.headers)).status, 200)
  t.equal((await call(rig, 'GET', '/admin/v1/usage/requests?since=7d&limit=500', rig.headers)).status, 200)
  // The bounded row query reads the time index, in its order (no scan, no sort of the table).
  const plan = rig.gateway.store.db
    .prepare(
      `EXPLAIN QUERY PLAN SELECT request_id FROM usage WHERE time >= @since AND time < @until AND user_id = @userId
       ORDER BY time, id`,
    )
    .all({ since: 0, until: 1, userId: 1 }) as { detail: string }[]
  const details = plan.map((row) => row.detail).join('; ')
  t.match(details, /SEARCH usage USING INDEX usage_(user_)?time \((user_id=\? AND )?time>\? AND time<\?\)/, details)
  t.notMatch(details, /TEMP B-TREE/)
})

t.test('/api/tags and /api/ps list only the models a key may use, with their aliases, on every mount', async (t) => {
  const rig = await startRig(t, { models: { aliases: [{ alias: 'fast', model: 'qwen2.5:0.5b' }] } })
  const narrow = rig.addKey({ models: ['qwen2.5:*'] })
  // The emulator's /api/ps has llama3.2:3b loaded.
  const loaded = await call(rig, 'GET', '/api/ps', rig.addKey({ models: ['llama3.2:3b'] }).headers)
  t.same(
    loaded.json.models.map((model: { name: string }) => model.name),
    ['llama3.2:3b'],
    'a key for the loaded model sees it',
  )
  const everything = await call(rig, 'GET', '/api/tags', rig.headers)
  const allNames = everything.json.models.map((model: { name: string }) => model.name)
  t.ok(allNames.length > 2 && allNames.includes('fast'), 'an unrestricted key sees every model and the aliases')
  for (const mount of ['/api', '/ollama/v1/api', '/ollama/v1']) {
    for (const list of ['tags', 'ps']) {
      const answer = await call(rig, 'GET', `${mount}/${list}`, narrow.headers)
      t.equal(answer.status, 200)
      const names = answer.json.models.map((model: { name: string; model: string }) => [model.name, model.model])
      if (list === 'ps') t.same(names, [], `${mount}/ps: the loaded model is not this key's`)
      for (const [name, model] of names) {
        t.ok(name === 'fast' || name.startsWith('qwen2.5:'), `${mount}/${list}: ${name} is allowed`)
        t.equal(name, model)
      }
      if (list === 'tags')
        t.ok(
          names.some(([name]: string[]) => name === 'fast'),
          'the alias of an allowed model',
        )
    }
  }
  const none = rig.addKey({ models: [] })
  t.same((await call(rig, 'GET', '/api/tags', none.headers)).json.models, [], 'an empty allow-list sees nothing')
})

t.test('backend addresses are shown to admins only: 502 messages and /discovery', async (t) => {
  // A backend that refuses connections, named by the config from its URL (host:port).
  const rig = await startRig(t, { backends: [{ url: 'http://127.0.0.1:9' }] })
  const user = rig.addKey()
  const body = { model: 'llama3.2:3b', prompt: 'hi', stream: false }
  const forUser = await call(rig, 'POST', '/api/generate', user.headers, body)
  t.equal(forUser.status, 502)
  t.match(forUser.json.error, /^the backend could not be reached \(ECONNREFUSED\)$/)
  t.notMatch(forUser.text, /127\.0\.0\.1|:9\b/, 'no address in a user’s error')
  const openAi = await call(rig, 'POST', '/v1/chat/completions', user.headers, {
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'hi' }],
  })
  t.equal(openAi.status, 502)
  t.notMatch(openAi.text, /127\.0\.0\.1/)
  const forAdmin = await call(rig, 'POST', '/api/generate', rig.headers, body)
  t.match(forAdmin.json.error, /backend 127\.0\.0\.1:9 could not be reached/, 'an admin sees which backend')
  const userView = await call(rig, 'GET', '/discovery', user.headers)
  t.notMatch(userView.text, /127\.0\.0\.1/, 'no address in a user’s /discovery')
  t.same(Object.keys(userView.json.backends[0]).sort(), ['outstanding', 'up'])
  const adminView = await call(rig, 'GET', '/discovery', rig.headers)
  t.match(adminView.json.backends[0], { name: '127.0.0.1:9', url: 'http://127.0.0.1:9' })
  const ready = await call(rig, 'GET', '/ready')
  t.equal(ready.status, 503)
  t.notMatch(ready.text, /127\.0\.0\.1/, '/ready (public) names the backend by its place')
  t.match(ready.text, /backend 1: /)
})

t.test('a configured backend name is shown to users, its address is not', async (t) => {
  const rig = await startRig(t, { backends: [{ url: 'http://127.0.0.1:9', name: 'gpu1' }] })
  const user = rig.addKey()
  const answer = await call(rig, 'POST', '/api/generate', user.headers, { model: 'llama3.2:3b', prompt: 'hi' })
  t.match(answer.json.error, /^backend gpu1 could not be reached/)
  const view = await call(rig, 'GET', '/discovery', user.headers)
  t.match(view.json.backends, [{ name: 'gpu1', up: false }])
  t.notMatch(view.text, /127\.0\.0\.1/)
})
