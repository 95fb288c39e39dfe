// Quota alerts on the event bus: each threshold fires once per window — not again when the limiter's state is
// rebuilt — as a quota.threshold event, through the outbox to a webhook on loopback, retried after a failure, never
// holding up the request. The deprecated alerts.webhook_url still works (a config-made subscription that also sends
// the old x-parallama-signature header). Also: request.failed and login.failed from a running gateway.
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import t from 'tap'
import { request } from 'undici'
import { secretFromRaw } from '../../src/events/signature.js'
import { WebhookStore } from '../../src/events/webhookStore.js'
import { newSecret } from '../../src/events/signature.js'
import { startRig, type Rig } from '../helpers/gateway.js'
import { startReceiver } from '../helpers/webhookReceiver.js'

async function generate(rig: Rig, headers: Record<string, string>) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
  })
  await response.body.dump()
  return response.statusCode
}

const fast = { retry_delay: '20ms', max_retry_delay: '50ms', poll_interval: '20ms' }

t.test('50 % and 100 % of a daily request quota: one signed alert each, retried, never twice', async (t) => {
  const raw = 'alert-signing-secret'
  const hook = await startReceiver(() => secretFromRaw(raw))
  t.teardown(() => hook.close())
  hook.failNext(1)
  const rig = await startRig(
    t,
    { alerts: { thresholds: '50,100', webhook_url: hook.url }, webhooks: fast },
    {},
    { PARALLAMA_ALERTS__WEBHOOK_SECRET: raw },
  )
  const { id, headers } = rig.addKey({ username: 'alerted' })
  const rule = {
    subjectType: 'key' as const,
    subject: id,
    gateway: '*' as const,
    model: '',
    values: { daily_requests: 4 },
  }
  rig.gateway.store.limits.set(rule)
  rig.gateway.authenticator.pollChanges()
  t.equal(await generate(rig, headers), 200)
  t.equal(await generate(rig, headers), 200, 'the 2nd of 4: 50 %')
  await rig.gateway.accounting.recorder.drain()
  // The limiter's state is rebuilt (as after a restart or a limits change): what was announced stays announced.
  rig.gateway.store.limits.set(rule)
  rig.gateway.authenticator.pollChanges()
  t.equal(await generate(rig, headers), 200, 'the 3rd: no new threshold')
  t.equal(await generate(rig, headers), 200, 'the 4th: 100 %')
  t.equal(await generate(rig, headers), 429, 'then the quota refuses')
  await hook.waitFor(2)
  t.equal(hook.attempts, 3, 'the first attempt failed and was retried')
  // A retried delivery may arrive after a later event's.
  const events = hook.received.map((delivery) => delivery.event).sort((a, b) => a.data.threshold - b.data.threshold)
  t.match(events, [
    {
      type: 'quota.threshold',
      data: {
        threshold: 50,
        quota: 'daily_requests',
        limit: 4,
        used: 2,
        subject: { type: 'key', id, username: 'alerted' },
      },
    },
    { type: 'quota.threshold', data: { threshold: 100, quota: 'daily_requests', limit: 4, used: 4 } },
  ])
  for (const delivery of hook.received) {
    t.ok(delivery.verified, 'Standard Webhooks signature, keyed with the old secret’s bytes')
    const legacy = 'sha256=' + createHmac('sha256', raw).update(delivery.body).digest('hex')
    t.equal(delivery.headers['x-parallama-signature'], legacy, 'and the old header, as before')
  }
  t.equal(rig.logs.filter((line) => line.includes('quota threshold reached')).length, 2)
  const metrics = await (await request(`${rig.url}/metrics`)).body.text()
  t.match(metrics, /parallama_quota_alerts_total\{result="fired"\} 2/)
  t.match(metrics, /parallama_quota_alerts_total\{result="delivered"\} 2/)
  t.match(metrics, /parallama_webhook_deliveries_total\{result="failed"\} 1/)
  t.match(metrics, /parallama_webhook_outbox_depth 0/)
  // Only the INSERT recorded it: the database says each threshold was sent once.
  const sent = rig.gateway.store.db.prepare('SELECT COUNT(*) FROM alerts_sent').pluck().get()
  t.equal(sent, 2)
})

t.test('a receiver that hangs does not hold up the request; one that stays down is dead-lettered', async (t) => {
  let held = 0
  const hanging = createServer(() => held++) // takes the alert and never answers
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(() => hanging.close())
  t.teardown(() => hanging.closeAllConnections())
  const port = (hanging.address() as { port: number }).port
  const slow = await startRig(t, {
    alerts: { thresholds: '100', webhook_url: `http://127.0.0.1:${port}/hook` },
    webhooks: { timeout: '30s', poll_interval: '20ms' },
  })
  const waiting = slow.addKey({ username: 'waiting' })
  slow.gateway.store.limits.set({
    subjectType: 'key',
    subject: waiting.id,
    gateway: '*',
    model: '',
    values: { daily_requests: 1 },
  })
  slow.gateway.authenticator.pollChanges()
  t.equal(await generate(slow, waiting.headers), 200, 'answered while its alert is still being delivered')
  while (held === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(held, 1, 'the receiver holds the alert, unanswered')

  const rig = await startRig(t, {
    alerts: { thresholds: '100', webhook_url: 'http://127.0.0.1:9/unreachable' },
    webhooks: { max_attempts: 3, ...fast },
  })
  const { id, headers } = rig.addKey({ username: 'lonely' })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: id,
    gateway: '*',
    model: '',
    values: { daily_requests: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  t.equal(await generate(rig, headers), 200)
  while (!rig.logs.some((line) => line.includes('dead-lettered')))
    await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(
    rig.logs.some((line) => line.includes('"msg":"webhook delivery dead-lettered"') && line.includes('"attempts":3')),
  )
  const webhooks = new WebhookStore(rig.gateway.store.db)
  t.match(webhooks.recent({ state: 'dead', limit: 5 }), [{ eventType: 'quota.threshold', attempts: 3 }])
})

t.test(
  'request.failed for a 5xx the gateway made; login.failed for a wrong password; no secret in either',
  async (t) => {
    const secret = newSecret()
    const hook = await startReceiver(() => secret)
    t.teardown(() => hook.close())
    const rig = await startRig(t, {
      backends: [{ url: 'http://127.0.0.1:9', name: 'gone' }],
      webhooks: fast,
    })
    new WebhookStore(rig.gateway.store.db).add({ url: hook.url, events: 'request.*,login.*', secret })
    const { id, key, headers } = rig.addKey({ username: 'erin' })
    t.equal(await generate(rig, headers), 502, 'the backend cannot be reached')
    const login = await request(`${rig.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'erin', password: 'not-her-password' }),
    })
    await login.body.dump()
    t.equal(login.statusCode, 401)
    await hook.waitFor(2)
    const events = hook.received.map((delivery) => delivery.event)
    t.match(events, [
      { type: 'request.failed', data: { status: 502, error: 'upstream_unreachable', key_id: id, backend: 'gone' } },
      { type: 'login.failed', data: { username: 'erin', client_ip: '127.0.0.1', reason: 'invalid_credentials' } },
    ])
    const bodies = hook.received.map((delivery) => delivery.body).join('\n')
    t.notMatch(bodies, key)
    t.notMatch(bodies, 'not-her-password')
    t.ok(hook.received.every((delivery) => delivery.verified))
  },
)
