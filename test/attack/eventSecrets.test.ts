// Attack (issue 12 review): every event type the gateway makes, delivered to a real receiver subscribed to '*', and
// then every byte a receiver, the log and /metrics see searched for the secrets in play: API keys (whole, and their
// secret part), a rotated key's successor, a password tried at login, the webhook's signing secret, the JWT secret.
// Payloads promise ids, names and numbers only.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateKey } from '../../src/auth/apiKeyFormat.js'
import { newSecret } from '../../src/events/signature.js'
import { WebhookStore } from '../../src/events/webhookStore.js'
import { startRig } from '../helpers/gateway.js'
import { startReceiver } from '../helpers/webhookReceiver.js'

const expected = [
  'key.created',
  'key.revoked',
  'key.rotated',
  'key.expired',
  'user.created',
  'user.disabled',
  'user.role_changed',
  'limit.changed',
  'backend.down',
  'login.failed',
  'login.throttled',
  'request.failed',
]

t.test('no event, log line or metric holds key material, a password or a signing secret', async (t) => {
  const secret = newSecret()
  const receiver = await startReceiver(() => secret)
  t.teardown(() => receiver.close())
  const rig = await startRig(t, {
    // An unreachable backend: gateway-made 502s (request.failed) and a failed health check (backend.down).
    backends: [{ url: 'http://127.0.0.1:9', name: 'gone' }],
    metrics: { backend_check_interval: '100ms' },
    auth: { login_max_failures: 1 },
    webhooks: { poll_interval: '20ms', key_expiry_check: '100ms' },
  })
  const { store } = rig.gateway
  new WebhookStore(store.db).add({ url: receiver.url, events: '*', secret })

  const alice = rig.addKey({ username: 'alice' })
  const expiring = rig.addKey({ username: 'alice', expiresAt: Date.now() - 1000 })
  const revoked = rig.addKey({ username: 'bob' })
  store.keys.revoke(revoked.id)
  const successor = generateKey()
  store.keys.rotate(alice.id, { id: successor.id, hash: successor.hash, prefix: successor.prefix }, Date.now() + 60_000)
  store.users.setRole('bob', 'admin')
  store.users.setActive('bob', false)
  store.limits.set({ subjectType: 'user', subject: 'alice', gateway: '*', model: '', values: { daily_requests: 9 } })
  rig.gateway.authenticator.pollChanges()
  const password = 'correct-horse-battery-staple-9f3a'
  for (let i = 0; i < 3; i++) {
    const login = await fetch(`${rig.url}/auth/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password }),
    })
    await login.arrayBuffer()
  }
  const failed = await fetch(`${rig.url}/api/tags`, { headers: rig.headers })
  t.equal(failed.status, 502, 'the gateway made a 5xx')
  await failed.arrayBuffer()

  for (;;) {
    const types = new Set(receiver.received.map((delivery) => delivery.event.type))
    if (expected.every((type) => types.has(type))) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(
    receiver.received.every((delivery) => delivery.verified),
    'every delivery verifies',
  )
  const metrics = await (await fetch(`${rig.url}/metrics`, { headers: rig.headers })).text()
  const seen = [
    ...receiver.received.map((delivery) => JSON.stringify(delivery.headers) + delivery.body),
    ...rig.logs,
    metrics,
  ].join('\n')

  const secretPart = (key: string) => key.slice('plm_'.length + 13, -6)
  const secrets: Record<string, string> = {
    'the admin key': rig.key,
    "the admin key's secret part": secretPart(rig.key),
    "alice's key": alice.key,
    "alice's key's secret part": secretPart(alice.key),
    'the expired key': expiring.key,
    'the revoked key': revoked.key,
    "the successor's key": successor.key,
    "the successor's secret part": secretPart(successor.key),
    'the password tried': password,
    'the webhook secret': secret,
    "the webhook secret's base64": secret.slice('whsec_'.length),
    'the JWT secret': readFileSync(rig.config.auth.jwt_secret_file, 'utf8').trim(),
    "the successor's hash": successor.hash.toString('hex'),
  }
  for (const [name, value] of Object.entries(secrets)) {
    t.notOk(seen.includes(value), `${name} appears nowhere`)
  }
})
