// Migration 007: the quota queries read an index, by key and by user, whatever API and model they narrow to — never a
// scan of every key's rollups for the period.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../src/store/store.js'
import { UsageStore, usedSinceSql } from '../../src/store/usage.js'
import { usageRow } from '../helpers/usageRow.js'

t.test('quota queries by key and by user use their index', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-quota-index-')), 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  const usage = new UsageStore(store.db)
  usage.write([usageRow({ keyId: 'k1', userId: 1, time: Date.UTC(2026, 11, 1, 9) })])
  for (const owner of ['key', 'user'] as const) {
    for (const [api, model] of [
      [false, false],
      [true, false],
      [true, true],
    ] as const) {
      const sql = usedSinceSql(owner, 'tokens', api, model)
      const args = [0, owner === 'key' ? 'k1' : 1, ...(api ? ['ollama'] : []), ...(model ? ['m'] : [])]
      const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
        .map((row) => row.detail)
        .join('; ')
      const index = owner === 'key' ? 'usage_hourly_key' : 'usage_hourly_user'
      t.match(
        plan,
        new RegExp(`SEARCH usage_hourly USING (COVERING )?INDEX ${index} \\(${owner}_id=\\? AND hour>\\?\\)`),
        plan,
      )
    }
  }
  t.equal(usage.usedSince(0, { keyId: 'k1' }, undefined, undefined, 'tokens'), 30, 'and it still counts')
})
