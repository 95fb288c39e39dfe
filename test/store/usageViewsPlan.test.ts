// Every query the dashboard's views run reads an index, never a scan of `usage` (ten million rows) nor of a whole
// rollup: the recent-requests page for generated filter combinations (with and without a cursor, both of its
// statements), the reports from the daily and hourly rollups for every grouping and filter, and the overview's series.
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openStore } from '../../src/store/store.js'
import { pageSql, paramsOf, planOf, type RecentFilter } from '../../src/store/recentRequests.js'
import { reportSql } from '../../src/store/usageReport.js'
import type { GroupBy } from '../../src/store/usage.js'
import { UsageStore } from '../../src/store/usage.js'
import { seriesSql } from '../../src/store/usageSeries.js'
import { usageRow } from '../helpers/usageRow.js'

const path = join(mkdtempSync(join(tmpdir(), 'parallama-views-plan-')), 'parallama.db')
const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
t.teardown(() => store.close())
const usage = new UsageStore(store.db)
usage.write([usageRow({ userId: 1, keyId: 'k1', time: Date.UTC(2026, 10, 30, 9) })])

function plan(sql: string, params: Record<string, unknown>): string[] {
  return (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((row) => row.detail)
}

/** No line of the plan scans a table: each reads an index (or a primary key) by a range or an equality. */
function assertNoScan(t: Test, lines: string[], sql: string): void {
  const scans = lines.filter((line) => /^SCAN (usage|usage_hourly|usage_daily|usage_series)\b/.test(line))
  t.same(scans, [], `${lines.join('; ')}\n${sql}`)
}

const filterArbitrary = fc.record(
  {
    userId: fc.integer({ min: 1, max: 5 }),
    model: fc.constantFrom('llama3.2:3b', 'qwen2.5:0.5b'),
    keyId: fc.constant('k1'),
    api: fc.constantFrom('ollama', 'openai'),
    status: fc.oneof(fc.record({ exact: fc.constantFrom(200, 429, 502) }), fc.constant({ from: 500, to: 599 })),
    requestId: fc.uuid(),
  },
  { requiredKeys: [] },
)

t.test('recent requests: every filter combination reads an index, in its order (no sort, no scan)', async (t) => {
  fc.assert(
    fc.property(filterArbitrary, fc.boolean(), (narrowing, paged) => {
      const filter: RecentFilter = { since: 0, until: Date.now(), ...narrowing }
      const after = paged ? { time: Date.now() - 1000, id: 7 } : undefined
      const recentPlan = planOf(filter, after)
      const params = { ...paramsOf(filter, after), boundaryTime: 0, boundaryId: 0, limit: 100 }
      for (const budgeted of [false, true]) {
        const { boundary, rows } = pageSql(recentPlan, budgeted)
        for (const sql of [boundary, rows]) {
          const lines = plan(sql, params)
          assertNoScan(t, lines, sql)
          t.match(lines.join('; '), /SEARCH usage USING (COVERING )?INDEX usage_(user_|model_)?time \(/, sql)
          // In the index's order: a sort would read every row of the window before the first one is answered.
          t.notMatch(lines.join('; '), /TEMP B-TREE/, `read in the index's order: ${sql}`)
        }
      }
    }),
    { numRuns: 25 },
  )
})

t.test('reports: every grouping and filter reads the rollups by an index', async (t) => {
  const groups: GroupBy[] = ['hour', 'day', 'model', 'user', 'key', 'api']
  fc.assert(
    fc.property(
      fc.constantFrom(...groups),
      filterArbitrary,
      fc.integer({ min: 1, max: 366 }),
      fc.boolean(),
      (by, narrowing, days, bounded) => {
        const now = Date.now()
        const { requestId: _r, status: _s, ...filter } = narrowing
        const { sql, params } = reportSql(
          { ...filter, since: now - days * 86_400_000, until: bounded ? now - 3_600_000 : undefined },
          by,
        )
        assertNoScan(t, plan(sql, params), sql)
      },
    ),
    { numRuns: 25 },
  )
})

t.test('the overview reads its series by primary key', async (t) => {
  const lines = (
    store.db.prepare(`EXPLAIN QUERY PLAN ${seriesSql}`).all(3_600_000, -1, 0, 1) as { detail: string }[]
  ).map((row) => row.detail)
  t.same(lines, ['SEARCH usage_series USING PRIMARY KEY (step=? AND user_id=? AND start>? AND start<?)'])
  t.equal(usage.series.points(3_600_000, -1, 0, Date.now()).length, 1, 'and it reads the hour written')
})
