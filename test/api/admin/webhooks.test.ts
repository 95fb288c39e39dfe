// /admin/v1/webhooks over the real server: add (the secret once), show, list, test, deliveries, remove; refusals.
import t from 'tap'
import { adminCall } from '../../helpers/adminApi.js'
import { expectMatches } from '../../helpers/expectMatches.js'
import { startRig } from '../../helpers/gateway.js'

t.test('webhooks over the admin API', async (t) => {
  const rig = await startRig(t)
  const call = (method: string, path: string, options?: Parameters<typeof adminCall>[3]) =>
    adminCall(rig, method, path, options)

  const added = await call('POST', '/webhooks', {
    body: { url: 'http://127.0.0.1:9/hook', events: ['key.*', 'user.*'] },
  })
  t.equal(added.status, 201)
  expectMatches('webhooks_create', 201, added.body)
  t.match(added.body, { events: 'key.*,user.*', secret: /^whsec_/ })
  const id: string = added.body.id
  const shown = await call('GET', `/webhooks/${id}`)
  expectMatches('webhook_get', 200, shown.body)
  t.notOk('secret' in shown.body, 'the secret is shown once only')
  const list = await call('GET', '/webhooks')
  expectMatches('webhooks_list', 200, list.body)
  t.equal(list.body.items.length, 1)

  const tested = await call('POST', `/webhooks/${id}/test`)
  t.equal(tested.status, 202)
  expectMatches('webhook_test', 202, tested.body)
  const deliveries = await call('GET', `/webhooks/${id}/deliveries`)
  expectMatches('webhook_deliveries', 200, deliveries.body)
  t.match(deliveries.body.items, [{ event_id: tested.body.event_id, type: 'webhook.test', webhook: id }])

  for (const [body, detail] of [
    [{ url: 'ftp://example.com/', events: '*' }, /http/],
    [{ url: 'http://u:p@example.com/', events: '*' }, /credentials/],
    [{ url: 'http://example.com/', events: '' }, /event/],
    [{ url: 'http://example.com/', events: '*', secret: 'short' }, /secret/],
    [{ url: 'http://example.com/' }, /"events"/],
  ] as const) {
    const refused = await call('POST', '/webhooks', { body })
    t.match(refused, { status: 400, body: { detail } }, JSON.stringify(body))
    expectMatches('webhooks_create', 400, refused.body)
  }
  t.match(await call('GET', '/webhooks/wh_missing'), { status: 404, body: { code: 'webhook_not_found' } })
  t.match(await call('GET', '/webhooks/wh_missing/deliveries'), { status: 404 })
  const user = rig.addKey({ role: 'user' })
  t.match(await call('GET', '/webhooks', { headers: user.headers }), { status: 403 })

  const stale = await call('DELETE', `/webhooks/${id}`, { headers: { ...rig.headers, 'if-match': '"old"' } })
  t.match(stale, { status: 412 })
  const removed = await call('DELETE', `/webhooks/${id}`, {
    headers: { ...rig.headers, 'if-match': shown.headers.get('etag')! },
  })
  t.equal(removed.status, 200)
  expectMatches('webhook_delete', 200, removed.body)
  t.equal((await call('GET', `/webhooks/${id}`)).status, 404)
})
