// `npm run bench [-- --seconds 5] [--only stream] [--bare]`: each scenario against the emulator directly, through Parallama,
// and through nginx (when installed), one after the other in the same run; the 50-connection scenarios also through
// Parallama with credentials only and with no credentials at all (what limits and usage cost). Prints ratios and
// writes JSON results.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { cpuSeconds, nginxPath, startEmulatorProcess, startNginx, startParallama, type Started } from './processes.js'
import { startBareProxy } from './bareProxy.js'
import { printReport, type Measurement } from './report.js'
import { allScenarios, type Scenario } from './scenarios.js'
import { runLoad } from './wrk.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
    'no-parts': { type: 'boolean', default: false },
    /** Also the bare stack (uWS + undici pass-through, bench/bareProxy.ts): what the gateway's features cost. */
    bare: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
  },
})
const seconds = Number(values.seconds)
const warmup = Number(values.warmup)
/** Each scenario runs every target this many times, interleaved, and keeps the median (this VM's noise is ±20 %). */
const rounds = Number(values.rounds)

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' })
} catch (error) {
  // wrk --version exits 1 but prints; only a missing binary is a problem.
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write('bench: wrk is not installed (Debian: apt-get install wrk)\n')
    process.exit(2)
  }
}

const emulator = await startEmulatorProcess()
const parallama = await startParallama(emulator.url)
const targets: (Started & { authorization?: string })[] = [{ ...emulator, name: 'direct' }, parallama]
if (!values['no-parts']) {
  for (const parts of ['auth', 'proxy', 'no-metrics'] as const) targets.push(await startParallama(emulator.url, parts))
}
/** The variants with parts left out run only where the per-request cost shows: many small requests or streams. */
const partsOnly = new Set(['auth-only', 'no-auth', 'no-metrics'])
if (values.bare) targets.push(await startBareProxy(emulator.url))
const nginx = values['no-nginx'] ? undefined : nginxPath()
if (nginx) targets.push(await startNginx(nginx, emulator.url))
else if (!values['no-nginx'])
  process.stderr.write('bench: nginx not found (apt-get install nginx-light); comparing with direct only\n')

const measurements: Measurement[] = []
try {
  for (const scenario of allScenarios.filter((entry) => !values.only || entry.name.includes(values.only))) {
    const runs = new Map<string, Measurement[]>()
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        if (partsOnly.has(target.name) && scenario.kind !== 'small' && scenario.kind !== 'stream') continue
        const measured = await measure(scenario, target)
        runs.set(target.name, [...(runs.get(target.name) ?? []), measured])
        process.stderr.write(
          `  ${scenario.name.padEnd(16)} ${target.name.padEnd(10)} ${measured.rps.toFixed(0).padStart(7)} req/s\n`,
        )
      }
    }
    for (const measured of runs.values()) measurements.push(median(measured))
  }
} finally {
  for (const target of targets.slice(1)) await target.stop()
  await emulator.stop()
}

async function measure(scenario: Scenario, target: (typeof targets)[number]): Promise<Measurement> {
  // Each gateway has its own database and key; direct and nginx get the same bytes as the first one.
  const authorization = target.authorization ?? parallama.authorization
  const load = { ...scenario.load, headers: { ...scenario.load.headers, authorization } }
  await runLoad(target.url, { ...load, seconds: warmup })
  const proxyPid = target.name === 'direct' ? undefined : target.pid
  const before = { proxy: proxyPid ? cpuSeconds(proxyPid) : 0, upstream: cpuSeconds(emulator.pid) }
  const result = await runLoad(target.url, { ...load, seconds })
  const proxyCpu = proxyPid ? cpuSeconds(proxyPid) - before.proxy : 0
  const upstreamCpu = cpuSeconds(emulator.pid) - before.upstream
  return {
    scenario: scenario.name,
    kind: scenario.kind,
    target: target.name,
    ...result,
    proxyCpuUsPerRequest: proxyPid ? (proxyCpu * 1e6) / result.requests : 0,
    upstreamCpuUsPerRequest: (upstreamCpu * 1e6) / result.requests,
  }
}

/** The run with the median throughput. */
function median(runs: Measurement[]): Measurement {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!
}

const summary = printReport(measurements)
mkdirSync('bench/results', { recursive: true })
const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`
writeFileSync(
  file,
  JSON.stringify(
    { when: new Date().toISOString(), seconds, rounds, node: process.version, measurements, summary },
    null,
    2,
  ) + '\n',
)
process.stdout.write(`\nresults written to ${file}\n`)
