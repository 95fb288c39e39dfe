// Quota alerts: each threshold fires once per window — not again when the limiter's state is rebuilt — and reaches a
// webhook receiver on loopback with an HMAC signature, retried after a failure, without holding up the request.
import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

interface Received {
  body: string
  signature: string | undefined
}

async function receiver(t: { teardown(fn: () => void): void }, failFirst: number) {
  const received: Received[] = []
  let failures = failFirst
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      if (failures-- > 0) return void res.writeHead(500).end()
      received.push({ body, signature: req.headers['x-parallama-signature'] as string | undefined })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const address = server.address() as { port: number }
  return { url: `http://127.0.0.1:${address.port}/hook`, received }
}

async function generate(rig: Rig, headers: Record<string, string>) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
  })
  await response.body.dump()
  return response.statusCode
}

t.test('50 % and 100 % of a daily request quota: one signed alert each, retried, never twice', async (t) => {
  const hook = await receiver(t, 1)
  const secret = 'alert-signing-secret'
  const rig = await startRig(
    t,
    { alerts: { thresholds: '50,100', webhook_url: hook.url, retry_delay: '20ms' } },
    {},
    { PARALLAMA_ALERTS__WEBHOOK_SECRET: secret },
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
  const deadline = Date.now() + 3000
  while (hook.received.length < 2 && Date.now() < deadline) await sleep(20)
  await sleep(200)
  t.equal(hook.received.length, 2, 'exactly one delivery per threshold (the first attempt failed and was retried)')
  const events = hook.received.map((delivery) => JSON.parse(delivery.body))
  t.match(events, [
    {
      type: 'quota.threshold',
      threshold: 50,
      quota: 'daily_requests',
      limit: 4,
      used: 2,
      subject: { type: 'key', id, username: 'alerted' },
    },
    { type: 'quota.threshold', threshold: 100, quota: 'daily_requests', limit: 4, used: 4 },
  ])
  for (const delivery of hook.received) {
    const expected = 'sha256=' + createHmac('sha256', secret).update(delivery.body).digest('hex')
    t.equal(delivery.signature, expected, 'signed with the shared secret')
  }
  t.equal(rig.logs.filter((line) => line.includes('quota threshold reached')).length, 2)
  const metrics = await request(`${rig.url}/metrics`)
  const text = await metrics.body.text()
  t.match(text, /parallama_quota_alerts_total\{result="fired"\} 2/)
  t.match(text, /parallama_quota_alerts_total\{result="delivered"\} 2/)
})

t.test(
  'a receiver that hangs does not hold up the request; one that stays down is given up after the retries',
  async (t) => {
    let held = 0
    const hanging = createServer(() => held++) // takes the alert and never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    t.teardown(() => hanging.closeAllConnections())
    t.teardown(() => hanging.close())
    const port = (hanging.address() as { port: number }).port
    const slow = await startRig(t, {
      alerts: { thresholds: '100', webhook_url: `http://127.0.0.1:${port}/hook`, timeout: '30s' },
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
    while (held === 0) await sleep(10)
    t.equal(held, 1, 'the receiver holds the alert, unanswered')

    const rig = await startRig(t, {
      alerts: { thresholds: '100', webhook_url: 'http://127.0.0.1:9/unreachable', retries: 2, retry_delay: '10ms' },
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
    const deadline = Date.now() + 3000
    while (!rig.logs.some((line) => line.includes('could not be delivered')) && Date.now() < deadline) await sleep(20)
    t.ok(
      rig.logs.some(
        (line) => line.includes('"msg":"quota alert could not be delivered"') && line.includes('"attempts":3'),
      ),
    )
  },
)
