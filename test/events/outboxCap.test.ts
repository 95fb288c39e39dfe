// Attack (issue 12 review): the outbox's in-memory cap (10,000 events, documented as one bound) was two: events and
// deferred work (quota thresholds) were each capped on their own, so twice the bound could be held. One bound for both.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Outbox } from '../../src/events/outbox.js'
import { WebhookStore } from '../../src/events/webhookStore.js'
import { createLogger } from '../../src/logger.js'
import { openStore } from '../../src/store/store.js'

t.test('events and deferred work share the one in-memory bound; what is beyond it is counted as dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-outbox-cap-'))
  const store = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 5000 }, { migrate: true })
  t.teardown(() => store.close())
  const outbox = new Outbox(
    store.db,
    new WebhookStore(store.db),
    createLogger('error', () => {}),
    () => {},
    4,
  )
  const event = { id: 'evt_x', type: 'backend.up' as const, time: 0, data: { backend: 'a', url: 'http://a' } }
  for (let i = 0; i < 3; i++) outbox.add({ ...event, id: `evt_${i}` })
  for (let i = 0; i < 3; i++) outbox.defer(() => [])
  t.equal(outbox.pending, 4, 'at most the bound is held')
  t.equal(outbox.stats.dropped, 2, 'the rest is counted')
  outbox.flushAll()
  t.equal(outbox.pending, 0)
})
