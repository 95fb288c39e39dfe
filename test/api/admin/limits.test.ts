// /admin/v1/limits over the real server: set (PUT, exactly these limits), get, list, remove, reset a subject, explain;
// every subject the CLI takes, the scope in the query; If-Match; a running server applies a rule set here.
import fc from 'fast-check'
import t from 'tap'
import { adminCall, walkPages } from '../../helpers/adminApi.js'
import { expectMatches } from '../../helpers/expectMatches.js'
import { startRig } from '../../helpers/gateway.js'

t.test('limits over the admin API', async (t) => {
  const rig = await startRig(t)
  const { store } = rig.gateway
  const call = (method: string, path: string, options?: Parameters<typeof adminCall>[3]) =>
    adminCall(rig, method, path, options)
  const limited = rig.addKey({ role: 'user', username: 'limited' })

  await t.test('PUT sets exactly the limits given; GET, list; the change is a limits_changed', async (t) => {
    const from = store.feed.latestId()
    const set = await call('PUT', '/limits/user/limited', { body: { rpm: 5, tpd: 1000 } })
    t.equal(set.status, 200)
    expectMatches('limit_put', 200, set.body)
    t.same(set.body, {
      subject_type: 'user',
      subject: 'limited',
      gateway: '*',
      model: null,
      limits: { rpm: 5, tpd: 1000 },
    })
    t.same(
      store.feed.changesSince(from).map((change) => change.kind),
      ['limits_changed'],
    )
    const replaced = await call('PUT', '/limits/user/limited', { body: { rpm: 1 } })
    t.same(replaced.body.limits, { rpm: 1 }, 'PUT replaces: tpd is gone')
    const shown = await call('GET', '/limits/user/limited')
    expectMatches('limit_get', 200, shown.body)
    t.equal(shown.headers.get('etag'), replaced.headers.get('etag'))
    const scoped = await call('PUT', '/limits/user/limited?gateway=openai&model=Llama3.2:3b', { body: { rph: 9 } })
    t.match(scoped.body, { gateway: 'openai', model: 'llama3.2:3b' })
    const list = await call('GET', '/limits?subject_type=user')
    expectMatches('limits_list', 200, list.body)
    t.equal(list.body.items.length, 2)
    t.match(await call('GET', '/limits/user/limited?gateway=ollama'), {
      status: 404,
      body: { code: 'limit_not_found' },
    })
  })

  await t.test('a running server applies the rule', async (t) => {
    rig.gateway.authenticator.pollChanges()
    const generate = () =>
      fetch(`${rig.url}/api/generate`, {
        method: 'POST',
        headers: { ...limited.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
      })
    let refused = 0
    for (let i = 0; i < 3 && refused === 0; i++) {
      const response = await generate()
      await response.arrayBuffer()
      if (response.status === 429) refused++
    }
    t.equal(refused, 1, 'rpm 1: a second request within the minute is refused')
  })

  await t.test('every subject: key, role, default, ip (encoded), and refusals', async (t) => {
    t.equal((await call('PUT', `/limits/key/${limited.id}`, { body: { concurrency: 2 } })).status, 200)
    t.equal((await call('PUT', '/limits/role/readonly', { body: { rpd: 100 } })).status, 200)
    t.equal((await call('PUT', '/limits/default/-', { body: { rpm: 600 } })).status, 200)
    const ip = await call('PUT', `/limits/ip/${encodeURIComponent('10.0.0.0/8')}`, { body: { rpm: 60 } })
    t.match(ip, { status: 200, body: { subject_type: 'ip', subject: '10.0.0.0/8' } })
    t.match(await call('PUT', '/limits/ip/10.0.0.0%2F8', { body: { tpm: 1 } }), {
      status: 400,
      body: { detail: /address rules take/ },
    })
    t.match(await call('PUT', '/limits/role/boss', { body: { rpm: 1 } }), { status: 400, body: { detail: /no role/ } })
    t.match(await call('PUT', '/limits/user/nobody', { body: { rpm: 1 } }), { status: 404 })
    t.match(await call('PUT', '/limits/planet/mars', { body: { rpm: 1 } }), { status: 400 })
    t.match(await call('PUT', '/limits/default/x', { body: { rpm: 1 } }), { status: 400, body: { detail: /"-"/ } })
    t.match(await call('PUT', '/limits/default/-', { body: { rpm: 0 } }), { status: 400 })
    t.match(await call('PUT', '/limits/default/-', { body: {} }), { status: 400 })
    t.match(await call('PUT', '/limits/default/-?model=llama3:*', { body: { rpm: 1 } }), { status: 400 })
    const { items } = await walkPages(rig, '/limits', 2)
    t.equal(items.length, 6, 'the walk shows every rule once')
  })

  await t.test('explain: which limits apply and where each comes from', async (t) => {
    const explained = await call('GET', `/limits/explain?key=${limited.id}`)
    t.equal(explained.status, 200)
    expectMatches('limits_explain', 200, explained.body)
    t.match(explained.body.limits, [
      { limit: 'rpm', value: 1, from: { subject_type: 'user', subject: 'limited' } },
      { limit: 'concurrency', value: 2, from: { subject_type: 'key' } },
    ])
    t.match(await call('GET', '/limits/explain'), { status: 400, body: { detail: /"key" or "user"/ } })
  })

  await t.test('If-Match, DELETE and reset', async (t) => {
    const tag = (await call('GET', '/limits/user/limited')).headers.get('etag')!
    t.equal((await call('PUT', '/limits/user/limited', { body: { rpm: 2 } })).status, 200)
    const stale = await call('DELETE', '/limits/user/limited', { headers: { ...rig.headers, 'if-match': tag } })
    t.match(stale, { status: 412, body: { code: 'precondition_failed' } })
    const noRule = await call('PUT', '/limits/role/user', {
      headers: { ...rig.headers, 'if-match': tag },
      body: { rpm: 1 },
    })
    t.equal(noRule.status, 412, 'If-Match on a rule that does not exist fails')
    const removed = await call('DELETE', '/limits/user/limited')
    t.equal(removed.status, 200)
    expectMatches('limit_delete', 200, removed.body)
    const reset = await call('POST', '/limits/user/limited/reset')
    t.equal(reset.status, 200)
    expectMatches('limit_reset', 200, reset.body)
    t.equal(reset.body.removed.length, 1, 'the openai/model rule went with the reset')
    t.match(await call('POST', '/limits/user/limited/reset'), { status: 404, body: { code: 'limit_not_found' } })
  })

  await t.test('permissions and generated bad bodies', async (t) => {
    t.match(await call('GET', '/limits', { headers: limited.headers }), { status: 403 })
    t.match(await call('PUT', '/limits/default/-', { headers: limited.headers, body: { rpm: 1 } }), { status: 403 })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('rpm', 'tpd', 'concurrency', 'x'), fc.jsonValue())),
        async (body) => {
          const feed = store.feed.latestId()
          const answer = await call('PUT', '/limits/role/readonly', { body })
          if (answer.status === 200) return true
          t.equal(answer.status, 400, JSON.stringify(body))
          expectMatches('limit_put', 400, answer.body)
          return store.feed.latestId() === feed
        },
      ),
      { numRuns: 50 },
    )
  })
})
