// The batch runner's state machine on a real SQLite file and real files, with the line runner and the clock in the
// test's hands: a batch past its completion window ends `expired` with what ran; a batch cancelled while validating
// never runs a line; a 429 leaves the line pending until the pause is over; the output has each line once.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { BatchRunner } from '../../src/batch/batchRunner.js'
import { BatchStore, newBatchRow, type BatchRow } from '../../src/batch/batchStore.js'
import { FileStorage } from '../../src/batch/fileStorage.js'
import type { SyntheticAnswer } from '../../src/batch/syntheticHttp.js'
import { createLogger } from '../../src/logger.js'
import { openStore } from '../../src/store/store.js'
import type { Principal } from '../../src/auth/principal.js'

function rig(t: Test, answer: (body: string) => number) {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-runner-'))
  const db = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => db.close())
  const user = db.users.add({ username: 'owner', role: 'user' })
  const store = new BatchStore(db.db)
  const storage = new FileStorage(join(dir, 'files'))
  const clock = { now: 1_000_000_000_000 }
  const sent: string[] = []
  const runner = new BatchRunner({
    store,
    storage,
    runLine: async (line): Promise<SyntheticAnswer> => {
      const body = line.body.toString()
      sent.push(body)
      await new Promise((resolve) => setImmediate(resolve))
      const status = answer(body)
      return { status, headers: {}, body: Buffer.from(JSON.stringify({ status })) }
    },
    owner: () => ({ userId: user.id }) as Principal,
    settings: () => ({ maxInFlight: 2, pauseMs: 100 }),
    now: () => clock.now,
    logger: createLogger('error', () => {}),
  })
  const addBatch = (lines: number): BatchRow => {
    const id = `file-${lines}-${Math.random().toString(16).slice(2)}`
    const text = Array.from({ length: lines }, (_, index) =>
      JSON.stringify({ custom_id: `c${index}`, method: 'POST', url: '/v1/embeddings', body: { model: 'm', n: index } }),
    ).join('\n')
    writeFileSync(storage.pathOf(id), text)
    store.addFile({ id, userId: user.id, purpose: 'batch', filename: 'in', bytes: text.length, createdAt: 0 })
    const now = Math.floor(clock.now / 1000)
    const batch = newBatchRow({
      id: `batch_${id}`,
      userId: user.id,
      keyId: null,
      inputFileId: id,
      endpoint: '/v1/embeddings',
      completionWindow: '24h',
      metadata: null,
      createdAt: now,
      expiresAt: now + 86_400,
    })
    store.addBatch(batch)
    return batch
  }
  const settled = async (id: string) => {
    for (let i = 0; i < 2000; i++) {
      const batch = store.batch(id)!
      if (['completed', 'failed', 'cancelled', 'expired'].includes(batch.status)) return batch
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    throw new Error(`batch ${id} never ended: ${store.batch(id)!.status}`)
  }
  return { store, storage, clock, sent, addBatch, settled, runner: () => runner }
}

t.test('past its completion window a batch ends expired, with the lines that ran', async (t) => {
  let ran = 0
  // After 3 lines the window is over: the lines in flight finish, no new one starts.
  const r: ReturnType<typeof rig> = rig(t, () => {
    if (++ran === 3) r.clock.now += 86_400_000
    return 200
  })
  const batch = r.addBatch(10)
  const runner = r.runner()
  runner.start()
  const ended = await r.settled(batch.id)
  t.equal(ended.status, 'expired')
  t.ok(ended.expiredAt)
  const counts = r.store.counts(batch.id)
  t.ok(counts.completed >= 3 && counts.completed <= 4, `${counts.completed} lines ran before it expired`)
  t.equal([...r.store.results(batch.id, true)].length, counts.completed, 'the output holds what ran')
})

t.test('cancelled while validating: no line runs, it ends cancelled', async (t) => {
  const r = rig(t, () => 200)
  const batch = r.addBatch(5)
  r.store.setStatus(batch.id, ['validating'], 'cancelling', 1)
  r.runner().start()
  const ended = await r.settled(batch.id)
  t.equal(ended.status, 'cancelled')
  t.equal(r.sent.length, 0)
  t.equal(ended.outputFileId, null)
})

t.test('a 429 leaves the line pending; after the pause it runs; every line once in the output', async (t) => {
  let refusals = 2
  const r = rig(t, (body) => (body.includes('"n":1}') && refusals-- > 0 ? 429 : 200))
  const batch = r.addBatch(4)
  r.runner().start()
  // The pause is on the injected clock: move it on until the batch ends.
  const timer = setInterval(() => (r.clock.now += 50), 10)
  t.teardown(() => clearInterval(timer))
  const ended = await r.settled(batch.id)
  t.equal(ended.status, 'completed')
  t.same(r.store.counts(batch.id), { total: 4, completed: 4, failed: 0 })
  t.equal(r.sent.filter((body) => body.includes('"n":1}')).length, 3, 'refused twice, then run')
  const ids = [...r.store.results(batch.id, true)].map((line) => JSON.parse(line).custom_id)
  t.same(ids, ['c0', 'c1', 'c2', 'c3'])
})
