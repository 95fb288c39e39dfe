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
