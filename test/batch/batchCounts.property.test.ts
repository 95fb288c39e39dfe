// A batch's counts are kept on its row (migration 016) so that showing a batch is one lookup, not a count over its
// lines: over any sequence of settles (a line settled twice, lines settled out of order), the row's counts are exactly
// what counting the lines gives.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { BatchStore, newBatchRow } from '../../src/batch/batchStore.js'
import { openStore } from '../../src/store/store.js'
import { holds } from '../helpers/fuzz.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-counts-'))
const db = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
t.teardown(() => db.close())
const owner = db.users.add({ username: 'owner', role: 'user' })
const store = new BatchStore(db.db)
let made = 0

function newBatch(lines: number): string {
  const id = `batch_${++made}`
  const row = newBatchRow({
    id: id,
    userId: owner.id,
    keyId: null,
    inputFileId: 'file-x',
    endpoint: '/v1/embeddings',
    completionWindow: '24h',
    metadata: null,
    createdAt: 0,
    expiresAt: 86_400,
  })
  store.addBatch(row)
  const newLines = Array.from({ length: lines }, (_, index) => ({ customId: `c${index}`, offset: index, length: 1 }))
  store.startLines(id, newLines, 1)
  return id
}

function counted(id: string) {
  return db.db
    .prepare(
      `SELECT COUNT(*) AS total, COALESCE(SUM(state = 'succeeded'), 0) AS completed,
        COALESCE(SUM(state = 'failed'), 0) AS failed FROM batch_lines WHERE batch_id = ?`,
    )
    .get(id)
}

t.test('the counts on the row are the lines counted, whatever settles in whatever order', async (t) => {
  await holds(
    t,
    'batch counts',
    fc.property(
      fc.integer({ min: 0, max: 40 }),
      fc.array(fc.tuple(fc.nat(50), fc.boolean()), { maxLength: 80 }),
      (lines, settles) => {
        const id = newBatch(lines)
        for (const [line, succeeded] of settles) store.settleLine(id, line + 1, succeeded, '{}')
        const row = store.counts(id)
        if (JSON.stringify(row) !== JSON.stringify(counted(id))) throw new Error(`${JSON.stringify(row)} on the row`)
      },
    ),
    200,
  )
  t.same(store.counts('batch_none'), { total: 0, completed: 0, failed: 0 })
})
