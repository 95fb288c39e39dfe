// The shared-memory ring hands every checked row to the writer exactly as SQLite would have stored it: any strings
// (UTF-8 as better-sqlite3 encodes them), nulls, -0, interned or inline, across wrap-arounds of slots and bytes, with
// the writer taking rows at any moment; a full ring refuses a row whole (the recorder then queues it) and never
// overwrites one the writer has not taken.
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { openStore } from '../../src/store/store.js'
import { UsageRecorder } from '../../src/usage/recorder.js'
import { createRingMemory, maxInterned, ringRows, RingReader, RingWriter } from '../../src/usage/usageRing.js'
import type { UsageRow } from '../../src/usage/usageRow.js'
import { checkUsageRow, maxRowText } from '../../src/usage/usageRowCheck.js'
import { holds } from '../helpers/fuzz.js'
import { usageRow } from '../helpers/usageRow.js'

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('ollama', 'llama3.2:3b', 'ünïcødé', '\u0000', 'x'.repeat(maxRowText)),
  fc.string({ unit: 'binary', minLength: maxRowText - 2, maxLength: maxRowText }),
)
const row = fc
  .record({
    time: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    requestId: anyText,
    userId: fc.option(fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.constant(-0))),
    username: fc.option(anyText),
    keyId: fc.option(anyText),
    api: anyText,
    route: anyText,
    model: fc.option(anyText),
    backend: fc.option(anyText),
    status: fc.integer({ min: 0, max: 999 }),
    errorCode: fc.option(anyText),
    promptTokens: fc.option(fc.nat()),
    completionTokens: fc.option(fc.nat()),
    tokens: fc.constantFrom('exact', 'estimated', 'unknown', 'none' as const),
    ttfbMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
    durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
    queueMs: fc.nat({ max: 86_400_000 }),
    bytesIn: fc.nat(),
    bytesOut: fc.nat(),
    clientIp: fc.option(anyText),
    clientAborted: fc.boolean(),
    cost: fc.double({ min: 0, max: 1e3, noNaN: true }),
    cache: fc.constantFrom(null, 'hit', 'miss', 'bypass' as const),
    freeTokens: fc.boolean(),
  })
  .map((value) => {
    const checked = value
    checkUsageRow(checked, 0)
    return checked
  })

/** The row as SQLite stores it: strings through UTF-8 (a lone surrogate becomes U+FFFD, as better-sqlite3 does). */
function stored(value: UsageRow): UsageRow {
  const copy = { ...value } as Record<string, unknown>
  for (const [field, entry] of Object.entries(copy)) {
    if (typeof entry === 'string') copy[field] = Buffer.from(entry, 'utf8').toString('utf8')
  }
  return copy as unknown as UsageRow
}

t.test('every row the ring accepts comes out whole, in order; a full ring refuses', async (t) => {
  await holds(
    t,
    'usage ring round trip',
    fc.property(
      fc.array(fc.tuple(row, fc.boolean()), { minLength: 1, maxLength: 60 }),
      fc.constantFrom(4, 8, 16),
      (steps, slots) => {
        // Small enough to wrap and fill: 32 KiB holds two worst-case rows.
        const memory = createRingMemory(slots, 32 * 1024)
        const writer = new RingWriter(memory)
        const reader = new RingReader(memory)
        const expected: UsageRow[] = []
        const taken: UsageRow[] = []
        for (const [value, take] of steps) {
          const before = writer.used
          if (writer.push(value)) expected.push(stored(value))
          else if (before < slots && before === 0) return false // an empty ring takes any checked row
          if (take) reader.take(writer.publish(), taken)
        }
        reader.take(writer.publish(), taken)
        return taken.length === expected.length && taken.every((got, i) => isDeepStrictEqual(got, expected[i]))
      },
    ),
    400,
    0.01,
  )
})

t.test('interned strings: past the table bound new strings travel inline, old ones keep their ids', async (t) => {
  const memory = createRingMemory(16, 1024 * 1024)
  const writer = new RingWriter(memory)
  const reader = new RingReader(memory)
  const out: UsageRow[] = []
  let sent = 0
  for (let i = 0; i < maxInterned + 100; i++) {
    if (writer.push(usageRow({ requestId: `r${i}`, model: `model-${i}`, username: i % 2 ? 'ann' : null }))) sent++
    if (writer.used === 16) reader.take(writer.publish(), out)
  }
  t.equal(sent, maxInterned + 100, 'a ring emptied in time takes every row')
  t.ok(writer.push(usageRow({ requestId: 'again', model: 'model-7' })))
  sent++
  reader.take(writer.publish(), out)
  t.equal(out.length, sent)
  t.ok(
    out.slice(0, -1).every((got, i) => got.model === `model-${i}` && got.requestId === `r${i}`),
    'every model name arrives, interned or not',
  )
  t.equal(out.at(-1)!.model, 'model-7', 'an interned name is still known')
})

t.test('a full ring refuses a row and takes it again once the writer took rows', async (t) => {
  const memory = createRingMemory(4, 64 * 1024)
  const writer = new RingWriter(memory)
  const reader = new RingReader(memory)
  for (let i = 0; i < 4; i++) t.ok(writer.push(usageRow({ requestId: `r${i}` })))
  t.notOk(writer.push(usageRow({ requestId: 'r4' })), 'four slots: the fifth row waits')
  const out: UsageRow[] = []
  reader.take(writer.publish(), out)
  t.ok(writer.push(usageRow({ requestId: 'r4' })))
  reader.take(writer.publish(), out)
  t.same(
    out.map((got) => got.requestId),
    ['r0', 'r1', 'r2', 'r3', 'r4'],
  )
})

t.test('the recorder: rows that find the ring full are queued, counted, and written like the others', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-ring-')), 'usage.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 5000 }, { migrate: true })
  const lines: string[] = []
  const recorder = new UsageRecorder(
    { path, busyTimeoutMs: 5000 },
    { flushIntervalMs: 3_600_000, flushRows: 100_000 },
    createLogger('warn', (line) => lines.push(line)),
  )
  t.teardown(() => store.close())
  for (let i = 0; i < ringRows + 10; i++) recorder.record(usageRow({ requestId: `r${i}` }))
  t.equal(recorder.stats.overflowRows, 10, 'the ring holds ringRows; the rest were queued')
  t.equal(recorder.queued, ringRows + 10)
  t.match(lines.join(''), /usage ring full/, 'said once')
  t.equal(lines.length, 1)
  await recorder.close()
  t.equal(recorder.pending, 0)
  t.equal(store.db.prepare('SELECT COUNT(DISTINCT request_id) FROM usage').pluck().get(), ringRows + 10, 'all written')
})
