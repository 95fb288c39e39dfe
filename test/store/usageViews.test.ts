// The views' data as invariants over generated rows written in generated batches: every rollup (hourly, daily, the
// series per hour and minute, for everyone and per user) equals what the rows add up to; a report over any window
// equals the hourly-only one; paging through recent requests with any filter and page size yields exactly the
// matching rows, newest first, each once — also when the scan budget ends pages early.
import Database from 'better-sqlite3'
import fc from 'fast-check'
import t from 'tap'
import { migrate } from '../../src/store/migrations.js'
import { RecentRequests, type RecentFilter, type Position } from '../../src/store/recentRequests.js'
import { UsageStore } from '../../src/store/usage.js'
import { everyone, hourStep, minuteStep } from '../../src/store/usageSeries.js'
import { emptyLatency, latencyBucket, latencyBucketCount, latencyQuantile } from '../../src/usage/latencyBuckets.js'
import type { UsageRow } from '../../src/usage/usageRow.js'
import { usageRow } from '../helpers/usageRow.js'

const now = Date.UTC(2026, 11, 1, 12, 30)
const dayMs = 86_400_000

function fresh() {
  const db = new Database(':memory:')
  migrate(db)
  return { db, usage: new UsageStore(db) }
}

const rowArbitrary = fc
  .record({
    ago: fc.integer({ min: 0, max: 3 * dayMs }),
    userId: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
    model: fc.constantFrom('a:latest', 'b:latest'),
    status: fc.constantFrom(200, 200, 200, 429, 502),
    backend: fc.option(fc.constant('gpu1'), { nil: null }),
    durationMs: fc.double({ min: 0, max: 2_000_000, noNaN: true }),
    promptTokens: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
  })
  .map((fields) =>
    usageRow({
      ...fields,
      time: now - fields.ago,
      keyId: fields.userId === null ? null : `k${fields.userId}`,
    }),
  )

const rowsArbitrary = fc
  .array(rowArbitrary, { minLength: 1, maxLength: 80 })
  .map((rows) => rows.map((row, i) => ({ ...row, requestId: `r${i}` })))

/** Rows in batches of generated sizes, as the writer thread gets them. */
function writeInBatches(usage: UsageStore, rows: UsageRow[], sizes: number[]): void {
  let at = 0
  for (let i = 0; at < rows.length; i++) {
    const size = sizes[i % sizes.length]!
    usage.write(rows.slice(at, at + size), now)
    at += size
  }
}

t.test('every rollup adds up to its rows, whatever the batches', async (t) => {
  fc.assert(
    fc.property(rowsArbitrary, fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1 }), (rows, sizes) => {
      const { db, usage } = fresh()
      writeInBatches(usage, rows, sizes)
      const sums = (sql: string) => db.prepare(sql).all() as Record<string, number>[]
      // The daily rollup is the hourly one by day.
      t.same(
        sums(
          `SELECT day, user_id, key_id, model, api, requests, errors, prompt_tokens FROM usage_daily ORDER BY 1, 2, 3, 4, 5`,
        ),
        sums(`SELECT hour - hour % ${dayMs} AS day, user_id, key_id, model, api, SUM(requests) AS requests,
          SUM(errors) AS errors, SUM(prompt_tokens) AS prompt_tokens FROM usage_hourly GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`),
      )
      for (const [step, from] of [
        [hourStep, 0],
        [minuteStep, now - 25 * hourStep],
      ] as const) {
        for (const userId of [everyone, 0, 1, 2, 3]) {
          const mine = rows.filter((row) => row.time >= from && (userId === everyone || (row.userId ?? 0) === userId))
          const points = usage.series.points(step, userId, 0, now + 1)
          t.equal(sum(points.map((p) => p.requests)), mine.length, `step ${step}, user ${userId}: requests`)
          t.equal(sum(points.map((p) => p.errors)), mine.filter((row) => row.status >= 400).length, 'errors')
          t.equal(sum(points.map((p) => p.prompt_tokens)), sum(mine.map((row) => row.promptTokens ?? 0)), 'tokens')
          // The histogram of the whole window: each reached request in the bucket of its duration.
          const expected = emptyLatency()
          for (const row of mine) if (row.backend !== null) expected[latencyBucket(row.durationMs)]! += 1
          const stored = emptyLatency()
          const blobs = db
            .prepare(`SELECT latency FROM usage_series WHERE step = ? AND user_id = ?`)
            .pluck()
            .all(step, userId) as Buffer[]
          for (const blob of blobs) for (let i = 0; i < latencyBucketCount; i++) stored[i]! += blob.readUInt32LE(i * 4)
          t.same([...stored], [...expected], 'latency histogram')
        }
      }
      db.close()
    }),
    { numRuns: 25 },
  )
})

t.test('a report reads whole days from usage_daily and gives what the hourly rollup alone gives', async (t) => {
  fc.assert(
    fc.property(
      rowsArbitrary,
      fc.integer({ min: 0, max: 4 * dayMs }),
      fc.option(fc.integer({ min: 0, max: 2 * dayMs }), { nil: undefined }),
      fc.constantFrom('hour', 'day', 'model', 'user', 'key', 'api'),
      (rows, back, untilBack, by) => {
        const { db, usage } = fresh()
        usage.write(rows, now)
        const filter = { since: now - back, until: untilBack === undefined ? undefined : now - untilBack }
        const hourly = db
          .prepare(
            `SELECT SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens FROM usage_hourly
             WHERE hour >= ? AND hour < ?`,
          )
          .get(filter.since - (filter.since % hourStep), filter.until ?? Number.MAX_SAFE_INTEGER) as {
          requests: number | null
          prompt_tokens: number | null
        }
        const report = usage.report(filter, by)
        t.equal(sum(report.map((row) => row.requests)), hourly.requests ?? 0, `${by}: requests`)
        t.equal(sum(report.map((row) => row.prompt_tokens)), hourly.prompt_tokens ?? 0, `${by}: tokens`)
        db.close()
      },
    ),
    { numRuns: 40 },
  )
})

t.test('minutes older than a day and an hour are pruned; hours are kept', async (t) => {
  const { db, usage } = fresh()
  usage.write([usageRow({ time: now - 2 * hourStep })], now - 2 * hourStep)
  t.equal(usage.series.points(minuteStep, everyone, 0, now).length, 1)
  usage.write([usageRow({ time: now })], now + 24 * hourStep)
  t.same(
    usage.series.points(minuteStep, everyone, 0, now + 1).map((point) => point.time),
    [now - (now % minuteStep)],
    'the old minute is gone, the new one kept',
  )
  t.equal(usage.series.points(hourStep, everyone, 0, now + 1).length, 2, 'both hours kept')
  db.close()
})

t.test(
  'recent requests: pages yield every match once, newest first, whatever the filter, size and budget',
  async (t) => {
    const filterArbitrary = fc.record(
      {
        userId: fc.integer({ min: 1, max: 3 }),
        model: fc.constantFrom('a:latest', 'b:latest'),
        status: fc.oneof(fc.record({ exact: fc.constantFrom(200, 429) }), fc.constant({ from: 500, to: 599 })),
        requestId: fc.constantFrom('r0', 'r3', 'r9'),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(
        rowsArbitrary,
        filterArbitrary,
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 3 * dayMs }),
        (rows, narrowing, limit, budget, back) => {
          const { db, usage } = fresh()
          usage.write(rows, now)
          const recent = new RecentRequests(db, budget)
          const filter: RecentFilter = { since: now - back, until: now + 1, ...narrowing }
          const expected = rows
            .map((row, i) => ({ row, id: i + 1 }))
            .filter(({ row }) => matches(row, filter))
            .sort((a, b) => b.row.time - a.row.time || b.id - a.id)
            .map(({ row }) => row.requestId)
          const seen: string[] = []
          let after: Position | undefined
          for (let pages = 0; pages <= rows.length + 1; pages++) {
            const page = recent.page(filter, limit, after)
            t.ok(page.items.length <= limit)
            seen.push(...page.items.map((item) => item.request_id as string))
            if (!page.next) break
            after = page.next
          }
          t.same(seen, expected)
          db.close()
        },
      ),
      { numRuns: 80 },
    )
  },
)

t.test('a quantile of the histogram is within a bucket of the exact one', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 1.5, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 200 }),
      (ms) => {
        const counts = emptyLatency()
        for (const value of ms) counts[latencyBucket(value)]! += 1
        const sorted = [...ms].sort((a, b) => a - b)
        for (const q of [0.5, 0.95]) {
          const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
          const estimate = latencyQuantile(counts, q)!
          t.ok(
            estimate >= exact / Math.SQRT2 - 1e-9 && estimate <= exact * Math.SQRT2 + 1e-9,
            `${q}: ${estimate} ~ ${exact}`,
          )
        }
      },
    ),
    { numRuns: 100 },
  )
  t.equal(latencyQuantile(emptyLatency(), 0.5), null, 'no requests: no latency')
})

function matches(row: UsageRow, filter: RecentFilter): boolean {
  if (row.time < filter.since || row.time >= filter.until) return false
  if (filter.userId !== undefined && row.userId !== filter.userId) return false
  if (filter.model !== undefined && row.model !== filter.model) return false
  if (filter.requestId !== undefined && row.requestId !== filter.requestId) return false
  const status = filter.status
  if (
    status &&
    ('exact' in status ? row.status !== status.exact : row.status < status.from || row.status > status.to)
  ) {
    return false
  }
  return true
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0)
}
