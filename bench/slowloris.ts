// `node dist/bench/slowloris.js [--slow 3000] [--seconds 12]`: what thousands of slow loopback connections cost a
// normal client. A gateway (every part on) in its own process in front of the emulator; wrk (8 connections, GET
// /api/tags with a key) measures p50/p99 and throughput three times: before, while `--slow` connections dribble a
// request head a line per second (reopened as the gateway closes them, as an attacker would), and after. Each phase
// runs `--seconds` (default 12: longer than the gateway's fixed 8–12 s timeout, so closes and reopens fall inside).
// Stops by itself; the results go to bench/results/<date>-slowloris-<slow>.json and docs/http.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuSeconds, startEmulatorProcess, startParallama } from './processes.js'
import { openSlowClients } from './slowClients.js'
import { runLoad, type LoadResult } from './wrk.js'

interface Phase extends LoadResult {
  phase: string
  /** The gateway process's CPU use during the phase, in cores. */
  gatewayCores: number
  gatewayRssMiB: number
  slowOpen: number
  slowClosedByGateway: number
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'))
  return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024)
}

async function main(): Promise<void> {
  const slow = option('--slow', 3000)
  const seconds = option('--seconds', 12)
  const emulator = await startEmulatorProcess()
  const gateway = await startParallama(emulator.url)
  const port = Number(new URL(gateway.url).port)
  const spec = {
    method: 'GET' as const,
    path: '/api/tags',
    headers: { authorization: gateway.authorization },
    connections: 8,
    seconds,
  }
  const phases: Phase[] = []
  const measure = async (phase: string, slowClients?: ReturnType<typeof openSlowClients>) => {
    const cpu = cpuSeconds(gateway.pid)
    const closedBefore = slowClients?.closedByServer ?? 0
    const load = await runLoad(gateway.url, spec)
    phases.push({
      phase,
      ...load,
      gatewayCores: Number(((cpuSeconds(gateway.pid) - cpu) / load.seconds).toFixed(2)),
      gatewayRssMiB: rssMiB(gateway.pid),
      slowOpen: slowClients?.open ?? 0,
      slowClosedByGateway: (slowClients?.closedByServer ?? 0) - closedBefore,
    })
  }
  try {
    await runLoad(gateway.url, { ...spec, seconds: 2 }) // warm-up
    await measure('baseline')
    const attack = openSlowClients('127.0.0.1', port, slow, 'dribbled-head', { reopen: true, dribble: true })
    await attack.ready
    await measure(`${slow} slow connections`, attack)
    attack.stop()
    await sleep(500)
    await measure('after')
  } finally {
    await gateway.stop()
    await emulator.stop()
  }
  console.table(
    phases.map((phase) => ({
      phase: phase.phase,
      'req/s': Math.round(phase.rps),
      'p50 ms': (phase.p50us / 1000).toFixed(2),
      'p99 ms': (phase.p99us / 1000).toFixed(2),
      errors: phase.errors + phase.non2xx,
      'gateway cores': phase.gatewayCores,
      'gateway RSS MiB': phase.gatewayRssMiB,
      'slow open': phase.slowOpen,
      'slow closed by gateway': phase.slowClosedByGateway,
    })),
  )
  mkdirSync('bench/results', { recursive: true })
  const file = `bench/results/${new Date().toISOString().slice(0, 10)}-slowloris-${slow}.json`
  writeFileSync(file, JSON.stringify({ slow, seconds, phases }, null, 2) + '\n')
  console.log(`written to ${file}`)
}

await main()
