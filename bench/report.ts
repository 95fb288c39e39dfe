// The bench's table and its verdict on each goal, as ratios measured in the same run.
import type { LoadResult } from './wrk.js'

export interface Measurement extends LoadResult {
  scenario: string
  kind: string
  target: string
  /** CPU time the proxy process spent per request (0 for direct). */
  proxyCpuUsPerRequest: number
  upstreamCpuUsPerRequest: number
}

export interface Goal {
  goal: string
  scenario: string
  value: number
  target: number
  met: boolean
}

const pad = (text: string | number, width: number) => String(text).padStart(width)

export function printReport(measurements: Measurement[]): Goal[] {
  const find = (scenario: string, target: string) =>
    measurements.find((entry) => entry.scenario === scenario && entry.target === target)
  const lines = [
    `${'scenario'.padEnd(16)} ${'target'.padEnd(10)} ${pad('req/s', 8)} ${pad('p50 µs', 8)} ${pad('p99 µs', 8)} ` +
      `${pad('cpu µs/req', 10)} ${pad('errors', 6)} ${pad('vs direct', 9)} ${pad('vs nginx', 9)}`,
  ]
  for (const entry of measurements) {
    const direct = find(entry.scenario, 'direct')
    const nginx = find(entry.scenario, 'nginx')
    lines.push(
      `${entry.scenario.padEnd(16)} ${entry.target.padEnd(10)} ${pad(entry.rps.toFixed(0), 8)} ${pad(entry.p50us, 8)} ` +
        `${pad(entry.p99us, 8)} ${pad(entry.target === 'direct' ? '-' : entry.proxyCpuUsPerRequest.toFixed(1), 10)} ` +
        `${pad(entry.errors + entry.non2xx, 6)} ${pad(direct ? (entry.rps / direct.rps).toFixed(2) : '-', 9)} ` +
        `${pad(nginx && entry.target !== 'nginx' ? (entry.rps / nginx.rps).toFixed(2) : '-', 9)}`,
    )
  }
  process.stdout.write('\n' + lines.join('\n') + '\n')

  const goals: Goal[] = []
  for (const scenario of new Set(measurements.map((entry) => entry.scenario))) {
    const direct = find(scenario, 'direct')
    const ours = find(scenario, 'parallama')
    const nginx = find(scenario, 'nginx')
    if (!direct || !ours || !nginx) continue
    const kind = ours.kind
    if (kind === 'latency') {
      const added = ours.p50us - direct.p50us
      const nginxAdded = nginx.p50us - direct.p50us
      goals.push({
        goal: `added p50 µs (nginx adds ${nginxAdded})`,
        scenario,
        value: added,
        target: nginxAdded,
        met: added <= nginxAdded,
      })
    }
    if (kind === 'small' || kind === 'realistic') {
      const target = kind === 'small' ? 0.6 : 1.0
      const ratio = ours.rps / nginx.rps
      goals.push({
        goal: `throughput vs nginx ≥ ${target}`,
        scenario,
        value: round(ratio),
        target,
        met: ratio >= target,
      })
    }
    const cpuRatio = ours.proxyCpuUsPerRequest / nginx.proxyCpuUsPerRequest
    goals.push({
      goal: 'CPU per request vs nginx ≤ 2',
      scenario,
      value: round(cpuRatio),
      target: 2,
      met: cpuRatio <= 2,
    })
  }
  /** A throughput ratio goal: `ours` against `reference`, measured in the same run. */
  const ratioGoal = (goal: string, target: number, ours?: Measurement, reference?: Measurement) => {
    if (!ours || !reference) return
    const ratio = ours.rps / reference.rps
    goals.push({
      goal: `${goal} ≥ ${target}`,
      scenario: ours.scenario,
      value: round(ratio),
      target,
      met: ratio >= target,
    })
  }
  ratioGoal(
    'SSE usage rewriting vs pass-through throughput',
    0.95,
    find('v1chat32 c50', 'parallama'),
    find('v1chat32+usage c50', 'parallama'),
  )
  for (const scenario of new Set(measurements.map((entry) => entry.scenario))) {
    const ours = find(scenario, 'parallama')
    ratioGoal('metrics on vs off throughput', 0.97, ours, find(scenario, 'no-metrics'))
    ratioGoal('auth + limits + usage vs no-auth throughput', 0.95, ours, find(scenario, 'no-auth'))
  }
  if (goals.length > 0) {
    process.stdout.write('\ngoals (same run):\n')
    for (const goal of goals) {
      process.stdout.write(
        `  ${goal.met ? 'met   ' : 'MISSED'} ${goal.scenario.padEnd(16)} ${goal.goal}: ${goal.value}\n`,
      )
    }
  }
  return goals
}

function round(value: number): number {
  return Math.round(value * 100) / 100
}
