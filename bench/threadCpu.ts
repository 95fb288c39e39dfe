// `node dist/bench/threadCpu.js [scenario] [seconds]`: CPU per request of the full gateway, split by thread (main,
// usage writer, V8's GC helpers, libuv), to see which thread a cost lands on. One target, one scenario, loopback only.
import { readdirSync, readFileSync } from 'node:fs'
import { startEmulatorProcess, startParallama } from './processes.js'
import { allScenarios } from './scenarios.js'
import { runLoad } from './wrk.js'

function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    out.set(`${name}#${tid}`, (Number(fields[11]) + Number(fields[12])) / 100)
  }
  return out
}

const name = process.argv[2] ?? 'tags c50'
const seconds = Number(process.argv[3] ?? 5)
const warmUp = Number(process.argv[4] ?? 1)
const scenario = allScenarios.find((each) => each.name === name)
if (!scenario) throw new Error(`no scenario ${name}`)
const emulator = await startEmulatorProcess()
const gateway = await startParallama(emulator.url)
try {
  const spec = { ...scenario.load, seconds: warmUp, headers: { authorization: gateway.authorization } }
  await runLoad(gateway.url, spec)
  const before = threads(gateway.pid)
  const result = await runLoad(gateway.url, { ...spec, seconds })
  const after = threads(gateway.pid)
  const rows = [...after].map(([thread, cpu]) => [thread, ((cpu - (before.get(thread) ?? 0)) * 1e6) / result.requests])
  rows.sort((a, b) => (b[1] as number) - (a[1] as number))
  const total = rows.reduce((sum, row) => sum + (row[1] as number), 0)
  console.log(`${name}: ${result.rps.toFixed(0)} req/s, ${total.toFixed(1)} µs CPU per request`)
  for (const [thread, us] of rows)
    if ((us as number) > 0) console.log(`  ${(us as number).toFixed(1).padStart(7)} µs  ${thread}`)
} finally {
  await gateway.stop()
  await emulator.stop()
}
