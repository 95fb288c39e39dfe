// The scheduling bench's numbers from the closed loops' tallies and the emulators' counters: B's wait, token shares,
// slot utilisation, the weighted share and model affinity; a table and a verdict per goal from the issue.
import type { UserTally } from './closedLoop.js'

export interface TargetResult {
  target: string
  seconds: number
  bWaitP50Ms: number
  bWaitP95Ms: number
  bRequests: number
  /** Median time a request held the slot (first token → end), as measured: the timers' drift makes it > nominal. */
  serviceP50Ms: number
  /** Each user's share of the tokens delivered, 0..1. */
  shares: Record<string, number>
  tokens: number
  /** Tokens delivered / (seconds × the slot's tokens per second): 1 means the slot never idled. */
  utilisation: number
  errors: number
}

export interface Goal {
  goal: string
  measured: string
  met: boolean
}

export function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!
}

export function targetResult(target: string, seconds: number, tallies: UserTally[], tokensPerSecond: number) {
  const tokens = tallies.reduce((sum, tally) => sum + tally.tokens, 0)
  const b = tallies.find((tally) => tally.name === 'b')
  const result: TargetResult = {
    target,
    seconds,
    bWaitP50Ms: b ? percentile(b.waitsMs, 0.5) : NaN,
    bWaitP95Ms: b ? percentile(b.waitsMs, 0.95) : NaN,
    bRequests: b?.started ?? 0,
    serviceP50Ms: percentile(
      tallies.flatMap((tally) => tally.servicesMs),
      0.5,
    ),
    shares: Object.fromEntries(tallies.map((tally) => [tally.name, tokens ? tally.tokens / tokens : 0])),
    tokens,
    utilisation: tokens / (seconds * tokensPerSecond),
    errors: tallies.reduce((sum, tally) => sum + tally.errors, 0),
  }
  return result
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : '-')
const percent = (value: number) => `${(value * 100).toFixed(1)} %`

export function printTargets(results: TargetResult[]): void {
  const rows = [
    ['', ...results.map((result) => result.target)],
    ['B wait p50', ...results.map((result) => ms(result.bWaitP50Ms))],
    ['B wait p95', ...results.map((result) => ms(result.bWaitP95Ms))],
    ['B requests', ...results.map((result) => String(result.bRequests))],
    ['service p50', ...results.map((result) => ms(result.serviceP50Ms))],
    ['A token share', ...results.map((result) => percent(result.shares.a ?? 0))],
    ['B token share', ...results.map((result) => percent(result.shares.b ?? 0))],
    ['tokens', ...results.map((result) => String(result.tokens))],
    ['utilisation', ...results.map((result) => result.utilisation.toFixed(3))],
    ['errors', ...results.map((result) => String(result.errors))],
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  for (const row of rows) {
    process.stdout.write(row.map((cell, column) => cell.padStart(widths[column]!)).join('  ') + '\n')
  }
}

export function printGoals(goals: Goal[]): void {
  process.stdout.write('\ngoals\n')
  for (const goal of goals) {
    process.stdout.write(`  ${goal.met ? 'met    ' : 'NOT met'}  ${goal.goal}: ${goal.measured}\n`)
  }
}
