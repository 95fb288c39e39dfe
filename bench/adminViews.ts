// `npm run bench:admin [-- --rows 10000000 --runs 5 --db PATH --keep]`: the dashboard's views on a big database
// (issue 14: every view ≤ 200 ms with 10 million usage rows). Generates the database into a temp file
// (bench/adminViewsData.ts; --db reuses one, --keep leaves it), then times each view's queries — the same service
// calls the admin API makes — `runs` times each, and prints the median and the slowest. The file is deleted after
// unless --keep. Writes JSON to bench/results/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openDatabase } from '../src/store/database.js'
import { UsageStore } from '../src/store/usage.js'
import { generate, modelNames, type Generated } from './adminViewsData.js'
import { adminViews } from './adminViewsList.js'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    runs: { type: 'string', default: '5' },
    db: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
})
const goalMs = 200
const runs = Number(values.runs)
const folder = values.db ? undefined : mkdtempSync(join(tmpdir(), 'parallama-bench-admin-'))
const path = values.db ?? join(folder!, 'usage.db')
// The database's clock: its last row is a minute ago, as on a live server.
let generated: Generated | undefined
if (!existsSync(path)) {
  process.stdout.write(`generating ${Number(values.rows).toLocaleString('en')} usage rows into ${path} ...\n`)
  generated = generate(path, Number(values.rows), Date.now() - 60_000)
  process.stdout.write(
    `  ${generated.rows.toLocaleString('en')} rows in ${generated.seconds.toFixed(1)} s ` +
      `(${generated.cpuSeconds.toFixed(1)} s of CPU)\n`,
  )
}
const db = openDatabase(path, { busyTimeoutMs: 5000 })
const usage = new UsageStore(db)
const rows = db.prepare('SELECT COUNT(*) FROM usage').pluck().get() as number
const sizeMb = statSync(path).size / 1e6
const sample = db
  .prepare('SELECT request_id, time FROM usage WHERE id = MAX(1, (SELECT MAX(id) FROM usage) - 300000)')
  .get() as { request_id: string; time: number }

const results: { view: string; medianMs: number; maxMs: number; items: number; met: boolean }[] = []
for (const view of adminViews(usage, { model: modelNames[3]!, sample })) {
  const times: number[] = []
  let items = 0
  for (let run = 0; run < runs; run++) {
    const started = performance.now()
    items = view.run()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  const medianMs = Number(times[Math.floor(times.length / 2)]!.toFixed(1))
  const maxMs = Number(times.at(-1)!.toFixed(1))
  results.push({ view: view.name, medianMs, maxMs, items, met: maxMs <= goalMs })
}
db.close()

const width = Math.max(...results.map((result) => result.view.length))
process.stdout.write(
  `\n${rows.toLocaleString('en')} usage rows, ${sizeMb.toFixed(0)} MB; ${runs} runs each; ` +
    `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores\n`,
)
process.stdout.write(`${'view'.padEnd(width)}  median ms  max ms  items  goal ≤ ${goalMs} ms\n`)
for (const result of results) {
  process.stdout.write(
    `${result.view.padEnd(width)}  ${String(result.medianMs).padStart(9)}  ${String(result.maxMs).padStart(6)}  ` +
      `${String(result.items).padStart(5)}  ${result.met ? 'met' : 'MISSED'}\n`,
  )
}
const missed = results.filter((result) => !result.met).length
process.stdout.write(missed === 0 ? 'every view met the goal\n' : `${missed} view(s) MISSED the goal\n`)

mkdirSync('bench/results', { recursive: true })
const out = `bench/results/${new Date().toISOString().slice(0, 10)}-admin-views-${rows}.json`
writeFileSync(
  out,
  JSON.stringify(
    {
      rows,
      sizeMb: Math.round(sizeMb),
      generateSeconds: generated?.seconds,
      generateCpuSeconds: generated?.cpuSeconds,
      loadAverage: loadavg(),
      runs,
      results,
    },
    null,
    2,
  ) + '\n',
)
process.stdout.write(`written to ${out}\n`)
if (folder && !values.keep) rmSync(folder, { recursive: true, force: true })
else process.stdout.write(`database kept: ${path}\n`)
