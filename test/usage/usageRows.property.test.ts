// Usage rows can never poison the writer: any row, whatever its fields hold, is made writable before it is queued;
// a row the database still refuses is set aside alone while the rest of its batch lands; the recorder keeps going
// and a drain (what the admin usage API waits on) never hangs on a bad row.
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { openStore } from '../../src/store/store.js'
import { UsageStore } from '../../src/store/usage.js'
import { UsageRecorder } from '../../src/usage/recorder.js'
import type { UsageRow } from '../../src/usage/usageRow.js'
import { checkUsageRow, maxRowText, maxRowTokens } from '../../src/usage/usageRowCheck.js'
import { writeBatch } from '../../src/usage/usageWriter.js'
import { holds } from '../helpers/fuzz.js'

const nasty = fc.constantFrom<unknown>(
  NaN,
  Infinity,
  -Infinity,
  -1,
  -0.5,
  1.5,
  2 ** 63,
  2 ** 53,
  1e300,
  undefined,
  '12',
  'x'.repeat(100_000),
  {},
  [],
  true,
  null,
  -0,
)
const goodText = fc.string({ maxLength: 40 })
const goodRow = fc.record({
  time: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  requestId: fc.uuid(),
  userId: fc.option(fc.integer({ min: 1, max: 1e6 })),
  username: fc.option(goodText),
  keyId: fc.option(goodText),
  api: fc.constantFrom('ollama', 'openai'),
  route: fc.constantFrom('generate', 'chat', 'chat_completions'),
  model: fc.option(goodText),
  backend: fc.option(goodText),
  status: fc.integer({ min: 100, max: 599 }),
  errorCode: fc.option(goodText),
  promptTokens: fc.option(fc.integer({ min: 0, max: maxRowTokens })),
  completionTokens: fc.option(fc.integer({ min: 0, max: maxRowTokens })),
  tokens: fc.constantFrom('exact', 'estimated', 'unknown', 'none' as const),
  ttfbMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  queueMs: fc.nat({ max: 86_400_000 }),
  bytesIn: fc.nat(),
  bytesOut: fc.nat(),
  clientIp: fc.option(fc.ipV4()),
  clientAborted: fc.boolean(),
  cost: fc.double({ min: 0, max: 1e3, noNaN: true }),
  cache: fc.constantFrom(null, 'hit', 'miss', 'bypass' as const),
  freeTokens: fc.boolean(),
}) as fc.Arbitrary<UsageRow>

/** A good row with some of its fields replaced by values that cannot be stored. */
const badRow = fc
  .tuple(
    goodRow,
    fc.array(fc.tuple(fc.constantFrom(...(Object.keys(sampleRow()) as (keyof UsageRow)[])), nasty), {
      minLength: 1,
      maxLength: 5,
    }),
  )
  .map(([row, changes]) => {
    const bad = { ...row } as Record<string, unknown>
    for (const [field, value] of changes) bad[field] = value
    return bad as unknown as UsageRow
  })

function sampleRow(): UsageRow {
  return {
    time: 0,
    requestId: 'r',
    userId: null,
    username: null,
    keyId: null,
    api: 'ollama',
    route: 'generate',
    model: null,
    backend: null,
    status: 200,
    errorCode: null,
    promptTokens: null,
    completionTokens: null,
    tokens: 'none',
    ttfbMs: null,
    durationMs: 0,
    queueMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    clientIp: null,
    clientAborted: false,
    cost: 0,
    cache: null,
    freeTokens: false,
  }
}

const nullableTexts = ['username', 'keyId', 'model', 'backend', 'errorCode', 'clientIp'] as const
const count = (value: unknown, max: number) =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max
const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0

/** What the usage table can store without refusing it. */
function writable(row: UsageRow): boolean {
  return (
    count(row.time, Number.MAX_SAFE_INTEGER) &&
    typeof row.requestId === 'string' &&
    row.requestId.length <= maxRowText &&
    (row.userId === null || count(row.userId, Number.MAX_SAFE_INTEGER)) &&
    nullableTexts.every(
      (field) => row[field] === null || (typeof row[field] === 'string' && row[field].length <= maxRowText),
    ) &&
    typeof row.api === 'string' &&
    row.api.length > 0 &&
    typeof row.route === 'string' &&
    row.route.length > 0 &&
    count(row.status, 999) &&
    ['exact', 'estimated', 'unknown', 'none'].includes(row.tokens) &&
    (row.promptTokens === null || count(row.promptTokens, maxRowTokens)) &&
    (row.completionTokens === null || count(row.completionTokens, maxRowTokens)) &&
    (row.ttfbMs === null || finite(row.ttfbMs)) &&
    finite(row.durationMs) &&
    count(row.queueMs, 1e12) &&
    count(row.bytesIn, Number.MAX_SAFE_INTEGER) &&
    count(row.bytesOut, Number.MAX_SAFE_INTEGER) &&
    typeof row.clientAborted === 'boolean' &&
    finite(row.cost)
  )
}

t.test('the check makes any row writable and leaves a good row as it was', async (t) => {
  await holds(
    t,
    'usage row check',
    fc.property(fc.oneof(goodRow, badRow), (row) => {
      const before = { ...row }
      const wrong = checkUsageRow(row, 1_700_000_000_000)
      if (!writable(row)) return false
      return wrong === undefined ? isDeepStrictEqual({ ...row }, before) : wrong.length > 0
    }),
    3000,
  )
  await holds(
    t,
    'usage row check good rows',
    fc.property(goodRow, (row) => checkUsageRow(row, 0) === undefined),
    1000,
  )
})

function storeWithPoison() {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-usage-rows-'))
  const path = join(dir, 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 2000 }, { migrate: true })
  // A row the database refuses whatever its values: what a future constraint, or a bug, would do.
  store.db.exec(`CREATE TRIGGER poison BEFORE INSERT ON usage WHEN NEW.request_id LIKE 'poison%'
    BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`)
  return { store, path, usage: new UsageStore(store.db) }
}

t.test('a batch with rows the database refuses: every other row lands, each refused one is set aside', async (t) => {
  const { store, usage } = storeWithPoison()
  t.teardown(() => store.close())
  const landed = store.db.prepare('SELECT request_id FROM usage WHERE request_id = ?').pluck()
  let id = 0
  await holds(
    t,
    'usage writer isolates bad rows',
    fc.property(
      fc.array(fc.tuple(fc.oneof(goodRow, badRow), fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 12 }),
      (entries) => {
        const rows = entries.map(([row, kind], i) => {
          checkUsageRow(row, Date.now())
          row.requestId = `${kind === 0 ? 'poison' : 'r'}-${id}-${i}`
          return row
        })
        const reply = writeBatch(usage, ++id, rows)
        const poisoned = rows.flatMap((row, i) => (row.requestId.startsWith('poison') ? [i] : []))
        const setAside = (reply.setAside ?? []).map((entry) => entry.index)
        return (
          reply.retry === undefined &&
          isDeepStrictEqual(setAside, poisoned) &&
          reply.written === rows.length - poisoned.length &&
          rows.every((row) => row.requestId.startsWith('poison') || landed.get(row.requestId) === row.requestId)
        )
      },
    ),
    300,
    0.001,
  )
})

t.test('the recorder: bad rows are made safe or set aside, drain ends, the writer keeps going', async (t) => {
  const { store, path } = storeWithPoison()
  const lines: string[] = []
  const recorder = new UsageRecorder(
    { path, busyTimeoutMs: 2000 },
    { flushIntervalMs: 50, flushRows: 1000 },
    createLogger('warn', (line) => lines.push(line)),
  )
  t.teardown(async () => {
    await recorder.close()
    store.close()
  })
  const row = (requestId: string, changes: Record<string, unknown>) =>
    ({
      ...sampleRow(),
      time: Date.now(),
      requestId,
      tokens: 'exact',
      promptTokens: 3,
      completionTokens: 4,
      ...changes,
    }) as UsageRow
  // The exact attack of the review: a non-integer count, and other users' rows in the same batch.
  recorder.record(row('fraction', { promptTokens: 1.5 }))
  recorder.record(row('nan', { completionTokens: NaN, durationMs: NaN, cost: Infinity }))
  recorder.record(row('huge', { promptTokens: 2 ** 63, model: 'm'.repeat(900_000) }))
  recorder.record(row('poison-1', {}))
  recorder.record(row('other-user', { userId: 7 }))
  await recorder.drain()
  t.equal(recorder.pending, 0, 'nothing left to retry')
  const rows = store.db
    .prepare('SELECT request_id, prompt_tokens, completion_tokens, tokens, length(model) AS m FROM usage ORDER BY id')
    .all()
  t.same(
    rows.map((r: any) => r.request_id),
    ['fraction', 'nan', 'huge', 'other-user'],
    'every row but the refused one landed',
  )
  t.same(rows[0], { request_id: 'fraction', prompt_tokens: null, completion_tokens: 4, tokens: 'unknown', m: null })
  t.equal((rows[2] as any).m, maxRowText, 'a huge model name is cut')
  t.equal(recorder.stats.sanitised, 3)
  t.equal(recorder.stats.setAside, 1)
  t.match(lines.join('\n'), /set aside.*"requestId":"poison-1"/, 'the refused row is logged with its request id')
  recorder.record(row('after', {}))
  await recorder.drain()
  t.ok(store.db.prepare(`SELECT 1 FROM usage WHERE request_id = 'after'`).get(), 'the writer keeps going')
})
