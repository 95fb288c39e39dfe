// Attack (issue 12 review): the outbox wrote its queue with BEGIN IMMEDIATE on the event loop, waiting up to
// database.busy_timeout for the write lock. Another process holding the lock (a CLI, a sqlite3 shell with an open
// transaction) then froze the whole gateway on every event — a failed login stalled every other request. The events
// must stay queued in memory instead, written once the lock is free, and requests must keep flowing meanwhile.
// The lock is released only after the second request is answered: a flush that waits for the lock hangs the test
// (busy_timeout is an hour), a flush that does not passes; no timing is measured.
import Database from 'better-sqlite3'
import t from 'tap'
import { newSecret } from '../../src/events/signature.js'
import { WebhookStore } from '../../src/events/webhookStore.js'
import { startRig } from '../helpers/gateway.js'
import { startReceiver } from '../helpers/webhookReceiver.js'

t.test('a write lock held by another process delays no request, and the events are written after it', async (t) => {
  const rig = await startRig(t, { database: { busy_timeout: '1h' }, webhooks: { poll_interval: '1h' } })
  const webhooks = new WebhookStore(rig.gateway.store.db)
  webhooks.add({ url: 'http://127.0.0.1:9/hook', events: 'login.*', secret: newSecret() })
  const other = new Database(rig.config.database.path)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')

  const failed = await fetch(`${rig.url}/auth/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'nobody', password: 'wrong' }),
  })
  t.equal(failed.status, 401, 'the failed login is answered')
  // The flush of login.failed runs on the next turn; a request after it must still be answered.
  await new Promise((resolve) => setImmediate(resolve))
  const tags = await fetch(`${rig.url}/api/tags`, { headers: rig.headers })
  t.equal(tags.status, 200, 'a request made while the lock is held is answered')
  t.equal(webhooks.depth(), 0, 'nothing written while the lock is held')

  other.exec('ROLLBACK')
  // Shutdown writes what is queued: the event kept in memory was not lost.
  await rig.gateway.close()
  const written = other.prepare(`SELECT event_type FROM webhook_deliveries`).pluck().all()
  t.same(written, ['login.failed'], 'login.failed is written once the lock is free')
})

// The same for the deliverer: an attempt's outcome is recorded without waiting for the lock (kept in memory and
// written once it is free, the delivery not sent again meanwhile), so a delivery finishing while another process holds
// the lock does not freeze the gateway either.
t.test('a delivery that ends while the lock is held delays no request, and is recorded after it', async (t) => {
  const secret = newSecret()
  const receiver = await startReceiver(() => secret)
  t.teardown(() => receiver.close())
  const rig = await startRig(t, { database: { busy_timeout: '1h' }, webhooks: { poll_interval: '20ms' } })
  const { db } = rig.gateway.store
  const webhooks = new WebhookStore(db)
  const other = new Database(rig.config.database.path)
  t.teardown(() => other.close())
  // Queued and locked in one synchronous step: the deliverer finds the delivery (reading works under the lock),
  // sends it, and must then record the outcome while the lock is held.
  const hook = webhooks.add({ url: receiver.url, events: 'login.*', secret })
  const event = { id: 'evt_locked', type: 'login.failed' as const, time: Date.now(), data: {} as any }
  db.transaction(() => webhooks.enqueue([event], hook.id))()
  other.exec('BEGIN IMMEDIATE')
  await receiver.waitFor(1)
  for (let i = 0; i < 3; i++) {
    const tags = await fetch(`${rig.url}/api/tags`, { headers: rig.headers })
    t.equal(tags.status, 200, 'a request made while the lock is held is answered')
  }
  t.equal(receiver.attempts, 1, 'the delivery is not sent again while its outcome waits to be written')
  other.exec('ROLLBACK')
  await rig.gateway.close()
  const states = other.prepare(`SELECT state, attempts FROM webhook_deliveries`).all()
  t.same(states, [{ state: 'delivered', attempts: 1 }], 'the outcome is written once the lock is free')
})
