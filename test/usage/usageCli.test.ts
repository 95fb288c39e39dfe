// `parallama usage report|top|export` and `db cleanup` on a real database of usage rows.
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../src/store/store.js'
import { UsageStore } from '../../src/store/usage.js'
import type { UsageRow } from '../../src/usage/usageRow.js'
import { runCli } from '../helpers/cli.js'
import { usageRow } from '../helpers/usageRow.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-usage-cli-'))
const db = join(dir, 'parallama.db')
const now = Date.now()
const day = 86_400_000

function row(fields: Partial<UsageRow>): UsageRow {
  return usageRow({ time: now, ...fields })
}

const store = openStore({ path: db, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
const ann = store.users.add({ username: 'ann', role: 'user' })
const ben = store.users.add({ username: 'ben', role: 'user' })
const usage = new UsageStore(store.db)
usage.write([
  row({ requestId: 'a1', userId: ann.id, username: 'ann', keyId: 'k1' }),
  row({
    requestId: 'a2',
    userId: ann.id,
    username: 'ann',
    keyId: 'k1',
    model: 'qwen2.5:0.5b',
    promptTokens: 1,
    completionTokens: 2,
  }),
  row({
    requestId: 'b1',
    userId: ben.id,
    username: 'ben',
    status: 500,
    errorCode: 'upstream_failed',
    tokens: 'none',
    promptTokens: null,
    completionTokens: null,
    cost: 0,
  }),
  row({ requestId: 'old', userId: ann.id, username: 'ann', time: now - 100 * day }),
  row({ requestId: 'q,"uoted"', userId: ben.id, username: 'ben', model: 'a "quoted", model' }),
])
store.close()

const run = (args: string[]) => runCli([...args, '--db', db])

t.test('report: totals by user, model and day, from the rollups, with filters', async (t) => {
  const byUser = JSON.parse((await run(['usage', 'report', '--by', 'user', '--json'])).stdout)
  t.match(byUser, [
    { group: 'ann', requests: 2, prompt_tokens: 11, completion_tokens: 22, cost: 1 },
    { group: 'ben', requests: 2, errors: 1, prompt_tokens: 10 },
  ])
  const oldToo = JSON.parse((await run(['usage', 'report', '--by', 'user', '--since', '200d', '--json'])).stdout)
  t.equal(oldToo[0].requests, 3, '--since reaches back')
  const annModels = JSON.parse((await run(['usage', 'report', '--by', 'model', '--user', 'ann', '--json'])).stdout)
  t.same(
    annModels.map((r: { group: string }) => r.group),
    ['llama3.2:3b', 'qwen2.5:0.5b'],
  )
  t.match((await run(['usage', 'report', '--by', 'day'])).stdout, /GROUP +REQUESTS +ERRORS/)
  t.match(await run(['usage', 'report', '--since', 'yesterday-ish']), {
    code: 2,
    stderr: /--since: expected a duration/,
  })
  t.match(await run(['usage', 'report', '--user', 'nobody']), { code: 1, stderr: /no user "nobody"/ })
})

t.test('top: the heaviest users first', async (t) => {
  const rows = JSON.parse((await run(['usage', 'top', '--limit', '1', '--json'])).stdout)
  t.match(rows, [{ group: 'ann' }])
})

t.test('export: CSV with the documented columns, quoting; JSON lines; to a 0600 file', async (t) => {
  const csv = (await run(['usage', 'export', '--format', 'csv'])).stdout.trim().split('\n')
  t.match(
    csv[0],
    /^request_id,time,user,key_id,api,route,model,backend,status,error_code,prompt_tokens,completion_tokens,tokens,ttfb_ms,duration_ms/,
  )
  t.equal(csv.length, 5, 'header and the 4 rows of the last 7 days')
  t.ok(
    csv.some((line) => line.startsWith('"q,""uoted""",')),
    'fields with commas and quotes are quoted',
  )
  const file = join(dir, 'usage.jsonl')
  const written = await run(['usage', 'export', '--format', 'jsonl', '--user', 'ann', '--output', file])
  t.match(written.stderr, /2 rows written/)
  t.equal(statSync(file).mode & 0o777, 0o600)
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.match(lines, [
    { request_id: 'a1', user: 'ann', key_id: 'k1', prompt_tokens: 10, duration_ms: 50 },
    { request_id: 'a2' },
  ])
})

t.test('db cleanup deletes old rows and keeps the rollups', async (t) => {
  t.match((await run(['db', 'cleanup', '--older-than', '30d'])).stdout, /deleted 1 usage row/)
  t.match(await run(['db', 'cleanup', '--older-than', 'later']), { code: 2, stderr: /--older-than/ })
  const oldToo = JSON.parse((await run(['usage', 'report', '--by', 'user', '--since', '200d', '--json'])).stdout)
  t.equal(oldToo[0].requests, 3, 'reports still count the deleted rows through the rollups')
})
