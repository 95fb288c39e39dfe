// The outbox on a real SQLite file with an injected clock and random source, delivering to a real loopback receiver:
// events reach the webhooks whose patterns match, signed; failures are retried with growing, jittered delays and
// dead-lettered after retry_for or max_attempts; the change feed becomes events exactly once; expired keys once.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { generateKey } from '../../src/auth/apiKeyFormat.js'
import { ChangeEvents } from '../../src/events/changeEvents.js'
import { WebhookDeliverer, type DeliveryOptions } from '../../src/events/deliverer.js'
import { EventBus } from '../../src/events/eventBus.js'
import { KeyExpiry } from '../../src/events/keyExpiry.js'
import { Outbox } from '../../src/events/outbox.js'
import { QuotaThresholds } from '../../src/events/quotaThresholds.js'
import { newSecret } from '../../src/events/signature.js'
import { WebhookStore } from '../../src/events/webhookStore.js'
import { createLogger } from '../../src/logger.js'
import { backupDatabase, restoreDatabase } from '../../src/store/backup.js'
import { openStore, type Store } from '../../src/store/store.js'
import { startReceiver } from '../helpers/webhookReceiver.js'

const options: DeliveryOptions = {
  timeoutMs: 5000,
  retryForMs: 60_000,
  maxAttempts: 100,
  retryDelayMs: 1000,
  maxRetryDelayMs: 16_000,
  pollMs: 1000,
  concurrency: 4,
}

async function setup(t: Test, overrides: Partial<DeliveryOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-events-'))
  const path = join(dir, 'parallama.db')
  const clock = { at: Date.UTC(2026, 0, 1) }
  const now = () => clock.at
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true, now })
  t.teardown(() => store.close())
  const logs: string[] = []
  const logger = createLogger('debug', (line) => logs.push(line))
  const secret = newSecret()
  const receiver = await startReceiver(() => secret)
  t.teardown(() => receiver.close())
  const webhooks = new WebhookStore(store.db, now)
  const deliverer = new WebhookDeliverer(webhooks, () => ({ ...options, ...overrides }), logger, {
    now,
    random: () => 0.5,
  })
  const outbox = new Outbox(store.db, webhooks, logger, () => {})
  const bus = new EventBus(now)
  bus.subscribe(outbox.add)
  return { store, webhooks, deliverer, outbox, bus, receiver, secret, clock, logs, path }
}

t.test('an event reaches the webhooks whose patterns match it, signed as the spec says', async (t) => {
  const { webhooks, deliverer, outbox, bus, receiver, secret } = await setup(t)
  const keys = webhooks.add({ url: receiver.url, events: 'key.*,backend.down', secret })
  webhooks.add({ url: receiver.url + '?other', events: 'user.*', secret })
  bus.emit('backend.down', { backend: 'gpu1', url: 'http://gpu1:11434', error: 'ECONNREFUSED' })
  bus.emit('backend.up', { backend: 'gpu1', url: 'http://gpu1:11434' })
  t.equal(webhooks.depth(), 0, 'emitting writes nothing in the caller’s path')
  outbox.flush()
  t.equal(webhooks.depth(), 1, 'one delivery: only key.* and backend.down match')
  await deliverer.runOnce()
  t.equal(receiver.received.length, 1)
  const [delivery] = receiver.received
  t.ok(delivery!.verified, 'the signature verifies')
  t.equal(delivery!.event.type, 'backend.down')
  t.equal(delivery!.id, delivery!.event.id, 'webhook-id is the event id')
  t.equal(delivery!.timestamp, Date.UTC(2026, 0, 1) / 1000, 'webhook-timestamp in unix seconds')
  t.same(delivery!.event.data, { backend: 'gpu1', url: 'http://gpu1:11434', error: 'ECONNREFUSED' })
  t.match(webhooks.recent({ webhookId: keys.id, limit: 10 }), [{ state: 'delivered', attempts: 1, lastStatus: 204 }])
  t.equal(deliverer.stats.delivered, 1)
})

t.test('failures are retried with doubling, jittered delays, then delivered once', async (t) => {
  const { webhooks, deliverer, bus, outbox, receiver, secret, clock } = await setup(t)
  webhooks.add({ url: receiver.url, events: '*', secret })
  bus.emit('login.failed', { username: 'mallory', client_ip: '192.0.2.1', reason: 'invalid_credentials' })
  outbox.flush()
  receiver.failNext(3)
  const waits: number[] = []
  for (let attempt = 1; attempt <= 3; attempt++) {
    await deliverer.runOnce()
    t.equal(receiver.attempts, attempt, `attempt ${attempt} made`)
    const [pending] = webhooks.recent({ state: 'pending', limit: 1 })
    waits.push(pending!.nextAttemptAt - clock.at)
    await deliverer.runOnce()
    t.equal(receiver.attempts, attempt, 'nothing is sent before the retry is due')
    clock.at = pending!.nextAttemptAt
  }
  // random() = 0.5: three quarters of 1 s, 2 s, 4 s.
  t.same(waits, [750, 1500, 3000], 'each wait doubles (half fixed, half jitter)')
  await deliverer.runOnce()
  t.equal(receiver.received.length, 1, 'delivered at the fourth attempt')
  t.ok(receiver.received[0]!.verified)
  const [delivered] = webhooks.recent({ limit: 1 })
  t.match(delivered, { state: 'delivered', attempts: 4 })
  t.same(
    webhooks.attempts(delivered!.id).map((attempt) => attempt.status),
    [500, 500, 500, 204],
    'every attempt is remembered',
  )
  t.same(deliverer.stats, { delivered: 1, failed: 3, dead: 0 })
})

t.test('a receiver that stays down: dead-lettered after retry_for, visible, never sent again', async (t) => {
  const { webhooks, deliverer, bus, outbox, receiver, secret, clock, logs } = await setup(t, { retryForMs: 10_000 })
  webhooks.add({ url: receiver.url, events: '*', secret })
  bus.emit('backend.up', { backend: 'b', url: 'http://b' })
  outbox.flush()
  const start = clock.at
  receiver.failNext(1000, 503)
  for (let i = 0; i < 50; i++) {
    await deliverer.runOnce()
    const [pending] = webhooks.recent({ state: 'pending', limit: 1 })
    if (!pending) break
    clock.at = pending.nextAttemptAt
  }
  const [dead] = webhooks.recent({ state: 'dead', limit: 10 })
  t.ok(dead, 'dead-lettered')
  t.equal(dead!.finishedAt, start + 10_000, 'the last attempt was made at the retry_for deadline')
  t.equal(dead!.lastStatus, 503)
  t.equal(deliverer.stats.dead, 1)
  t.ok(logs.some((line) => line.includes('webhook delivery dead-lettered')))
  const made = receiver.attempts
  clock.at += 3_600_000
  await deliverer.runOnce()
  t.equal(receiver.attempts, made, 'a dead letter is not tried again')
})

t.test('max_attempts dead-letters before retry_for; a closed port is a failed attempt', async (t) => {
  const { webhooks, deliverer, bus, outbox, secret, clock } = await setup(t, { maxAttempts: 2 })
  webhooks.add({ url: 'http://127.0.0.1:9/closed', events: '*', secret })
  bus.emit('backend.up', { backend: 'b', url: 'http://b' })
  outbox.flush()
  await deliverer.runOnce()
  clock.at = webhooks.recent({ state: 'pending', limit: 1 })[0]!.nextAttemptAt
  await deliverer.runOnce()
  t.match(webhooks.recent({ limit: 1 }), [{ state: 'dead', attempts: 2, lastStatus: null, lastError: /ECONNREFUSED/ }])
})

t.test('changes in the feed become events once, after a cursor kept in the database', async (t) => {
  const { store, webhooks, deliverer, receiver, secret, path } = await setup(t)
  webhooks.add({ url: receiver.url, events: 'key.*,user.*,limit.changed', secret })
  // Another process (the CLI) writes through its own connection.
  const cli = openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true })
  t.teardown(() => cli.close())
  const user = cli.users.add({ username: 'carol', role: 'user' })
  const made = generateKey()
  cli.keys.create({ id: made.id, userId: user.id, hash: made.hash, prefix: made.prefix, name: 'laptop' })
  cli.keys.revoke(made.id)
  cli.users.setRole('carol', 'readonly')
  cli.users.setActive('carol', false)
  cli.limits.set({ subjectType: 'user', subject: String(user.id), gateway: '*', model: '', values: { rpm: 5 } })
  const changes = new ChangeEvents(store, webhooks, createLogger('silent'), () => {})
  changes.run()
  changes.run()
  // Read before the user is gone (a later reader names a deleted user's keys with null).
  cli.users.setActive('carol', true)
  cli.users.remove('carol')
  changes.run()
  await deliverer.runOnce()
  // Deliveries run concurrently, so they may arrive in any order: put them in the feed's.
  const serial = (id: string) => Number(id.split('_')[2])
  receiver.received.sort((a, b) => serial(a.id) - serial(b.id))
  const types = receiver.received.map((delivery) => delivery.event.type)
  t.same(types, [
    'user.created',
    'key.created',
    'key.revoked',
    'user.role_changed',
    'user.disabled',
    'limit.changed',
    'user.enabled',
    // Removing the user removed the limit rule that named them.
    'limit.changed',
    'user.deleted',
  ])
  t.ok(receiver.received.every((delivery) => delivery.verified))
  t.match(receiver.received[2]!.event.data, {
    key_id: made.id,
    key_name: 'laptop',
    user_id: user.id,
    username: 'carol',
  })
  t.match(receiver.received[3]!.event.data, { role: 'readonly' })
  t.match(receiver.received[5]!.event.data, {
    action: 'set',
    subject_type: 'user',
    subject: String(user.id),
    values: { rpm: 5 },
  })
  t.match(receiver.received[6]!.event.data, { user_id: user.id, username: 'carol' })
  t.match(receiver.received[8]!.event.data, { user_id: user.id, username: 'carol' }, 'named after the row is gone')
  const body = receiver.received.map((delivery) => delivery.body).join('\n')
  t.notMatch(body, made.key, 'no key material')
  t.notMatch(body, /hash/)
  // A second reader (a restart) starts from the cursor: nothing again.
  new ChangeEvents(store, webhooks, createLogger('silent'), () => {}).run()
  t.equal(webhooks.depth(), 0, 'nothing queued twice')
})

t.test('key.expired goes out once per key, across restarts', async (t) => {
  const { store, webhooks, deliverer, receiver, secret, clock } = await setup(t)
  webhooks.add({ url: receiver.url, events: 'key.expired', secret })
  const user = store.users.add({ username: 'dave', role: 'user' })
  const made = generateKey()
  store.keys.create({
    id: made.id,
    userId: user.id,
    hash: made.hash,
    prefix: made.prefix,
    expiresAt: clock.at + 60_000,
  })
  const expiry = new KeyExpiry(
    store.db,
    webhooks,
    createLogger('silent'),
    () => {},
    () => clock.at,
  )
  t.equal(expiry.check(), 0, 'not yet')
  clock.at += 60_000
  t.equal(expiry.check(), 1, 'expired now')
  t.equal(expiry.check(), 0, 'announced once')
  t.equal(
    new KeyExpiry(
      store.db,
      webhooks,
      createLogger('silent'),
      () => {},
      () => clock.at,
    ).check(),
    0,
    'not after a restart',
  )
  await deliverer.runOnce()
  t.match(
    receiver.received.map((delivery) => delivery.event),
    [
      {
        type: 'key.expired',
        data: { key_id: made.id, username: 'dave', expired_at: new Date(clock.at).toISOString() },
      },
    ],
  )
})

t.test(
  'a quota threshold is only queued during admission; the next flush records it once and sends it once',
  async (t) => {
    const { store, webhooks, deliverer, outbox, receiver, secret, logs } = await setup(t)
    webhooks.add({ url: receiver.url, events: 'quota.*', secret })
    const thresholds = new QuotaThresholds(store.db, [100, 80], outbox, createLogger('silent'))
    t.same(thresholds.thresholds, [80, 100])
    const alert = {
      threshold: 80,
      quota: 'daily_tokens' as const,
      limit: 1000,
      used: 812,
      periodStart: Date.UTC(2026, 0, 1),
      periodEnd: Date.UTC(2026, 0, 2),
      subject: { type: 'user' as const, id: '7', username: 'frank' },
      gateway: '*',
      model: null,
      counter: 'user:7:*::daily_tokens',
    }
    const recorded = store.db.prepare('SELECT COUNT(*) FROM alerts_sent').pluck()
    thresholds.fire(alert)
    t.equal(recorded.get(), 0, 'nothing written in the caller’s path')
    outbox.flush()
    t.equal(recorded.get(), 1, 'recorded by the flush')
    t.same(thresholds.sent(alert.counter, alert.periodStart), [80])
    // Another process (or this one after a restart) fires the same threshold: recorded already, not sent again.
    thresholds.fire(alert)
    outbox.flush()
    t.equal(thresholds.stats.fired, 1)
    await deliverer.runOnce()
    t.equal(receiver.received.length, 1)
    t.match(receiver.received[0]!.event, {
      type: 'quota.threshold',
      data: { threshold: 80, used: 812, period_start: '2026-01-01T00:00:00.000Z', subject: { username: 'frank' } },
    })
    t.notOk('counter' in receiver.received[0]!.event.data, 'the limiter’s internal counter name stays inside')
    t.same(logs, [])
  },
)

t.test('a burst is written in bounded transactions over several turns; shutdown writes it all', async (t) => {
  const { webhooks, outbox, bus, receiver, secret } = await setup(t)
  webhooks.add({ url: receiver.url, events: 'backend.*', secret })
  for (let i = 0; i < 1200; i++) bus.emit('backend.up', { backend: `b${i}`, url: 'http://b' })
  outbox.flush()
  t.equal(webhooks.depth(), 500, 'one flush writes at most 500 events')
  t.equal(outbox.pending, 700, 'the rest waits for the next turn')
  outbox.flushAll()
  t.equal(webhooks.depth(), 1200)
  t.equal(outbox.pending, 0)
})

t.test('after an older backup is restored, new changes get event ids never given before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-events-restore-'))
  const path = join(dir, 'parallama.db')
  const clock = { at: Date.UTC(2026, 0, 1) }
  const open = () =>
    openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true, now: () => clock.at })
  const eventIds = (store: Store) => {
    const webhooks = new WebhookStore(store.db, () => clock.at)
    webhooks.add({ url: 'http://127.0.0.1:9/', events: 'user.*', secret: newSecret() })
    new ChangeEvents(store, webhooks, createLogger('silent'), () => {}).run()
    return (store.db.prepare('SELECT event_id FROM webhook_deliveries').pluck().all() as string[]).sort()
  }
  let store = open()
  store.users.add({ username: 'first', role: 'user' })
  await backupDatabase(path, join(dir, 'backup.db'))
  clock.at += 1000
  store.users.add({ username: 'lost', role: 'user' })
  const before = eventIds(store)
  store.close()
  restoreDatabase(join(dir, 'backup.db'), path)
  clock.at += 1000
  store = open()
  t.teardown(() => store.close())
  store.users.add({ username: 'after', role: 'user' })
  const after = eventIds(store)
  t.equal(before.length, 2)
  t.equal(after.length, 2)
  t.equal(after.filter((id) => before.includes(id)).length, 1, 'the change both copies hold keeps its id')
  t.equal(after.filter((id) => !before.includes(id)).length, 1, 'the change made after the restore has a new id')
})
