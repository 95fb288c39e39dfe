// `npm run bench:fairness [-- --seconds 12]`: the gateway's queue under a flood (issue 13). An emulated Ollama with one
// slot (20 tokens 20 ms apart: 400 ms a request, 50 tokens/s at most); user A keeps 16 streams in flight, user B one.
// Side by side: direct to the emulator (Ollama's own FIFO queue), the gateway with policy fifo, and with policy fair.
// Then two flooding users weighted 1:2, and two emulators holding different models under a mixed load (model
// affinity). Every process listens on 127.0.0.1 and each run stops after its duration. Writes JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { catalogOf } from './emulator/catalog.js'
import { startEmulator, type Emulator } from './emulator/server.js'
import { runClosedLoops, type LoopUser } from './closedLoop.js'
import { printGoals, printTargets, targetResult, type Goal, type TargetResult } from './fairnessReport.js'
import { startParallama, type ParallamaOptions } from './processes.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '12' } } })
const seconds = Number(values.seconds)
const tokens = 20
const delayMs = 20
const serviceMs = tokens * delayMs
const tokensPerSecond = 1000 / delayMs
const llama = 'llama3.2:3b'
const qwen = 'qwen2.5:0.5b'

/** The gateway in front of `backends` (each with `parallel` slots, as its Ollama), with these users and policy. */
async function gateway(backends: Emulator[], parallel: number, policy: string, users: Record<string, number>) {
  const options: ParallamaOptions = {
    backends: backends.map((backend) => ({ url: backend.url, parallel })),
    env: { PARALLAMA_SCHEDULER__POLICY: policy },
    users,
  }
  const started = await startParallama(backends[0]!.url, 'all', options)
  // The first inventory poll (/api/tags, /api/ps) is under way at start; let it land before the load does.
  await sleep(1000)
  return started
}

function floodAndOne(authorizations: Record<string, string>): LoopUser[] {
  return [
    { name: 'a', concurrency: 16, authorization: authorizations.a!, model: llama },
    { name: 'b', concurrency: 1, authorization: authorizations.b!, model: llama },
  ]
}

/** Part 1: the same flood direct, through the gateway with fifo, and with fair. */
async function floodRuns(emulator: Emulator): Promise<TargetResult[]> {
  const results: TargetResult[] = []
  const direct = await runClosedLoops(emulator.url, floodAndOne({ a: 'Bearer none', b: 'Bearer none' }), seconds)
  results.push(targetResult('direct', seconds, direct, tokensPerSecond))
  for (const policy of ['fifo', 'fair']) {
    // Streams aborted at the end of the previous run leave the emulator's queue as their connections close.
    await sleep(500)
    const parallama = await gateway([emulator], 1, policy, { a: 1, b: 1 })
    try {
      const tallies = await runClosedLoops(parallama.url, floodAndOne(parallama.authorizations), seconds)
      results.push(targetResult(`gateway-${policy}`, seconds, tallies, tokensPerSecond))
    } finally {
      await parallama.stop()
    }
  }
  return results
}

/** Part 2: two users flooding, weights 1 and 2; their token shares. */
async function weightedRun(emulator: Emulator): Promise<TargetResult> {
  await sleep(500)
  const parallama = await gateway([emulator], 1, 'fair', { light: 1, heavy: 2 })
  try {
    const users: LoopUser[] = ['light', 'heavy'].map((name) => ({
      name,
      concurrency: 8,
      authorization: parallama.authorizations[name]!,
      model: llama,
    }))
    return targetResult('weights 1:2', seconds, await runClosedLoops(parallama.url, users, seconds), tokensPerSecond)
  } finally {
    await parallama.stop()
  }
}

/** Loads and served requests per emulator and model, to diff before and after a run. */
function modelCounters(emulators: Emulator[]) {
  return emulators.map((emulator) =>
    Object.fromEntries(
      [llama, qwen].map((model) => {
        const counts = emulator.stats.models.get(model)
        return [model, { served: counts?.served ?? 0, loads: counts?.loads ?? 0 }]
      }),
    ),
  )
}

/**
 * Part 3: two emulators that both hold both models, each with a different one loaded and room for only one (a load
 * takes 200 ms and evicts the other); users X and Y each keep 4 streams of one model in flight, which the loaded
 * backend's 4 slots can take. A request that lands where its model is not loaded makes that emulator load it, so
 * the share that landed on a loaded model is 1 − loads / served over the run.
 */
async function affinityRun() {
  const emulators = await Promise.all(
    [llama, qwen].map((preload) =>
      startEmulator({
        knobs: { tokens, delayMs },
        scheduler: { parallel: 4, maxLoaded: 1, loadMs: 200 },
        models: catalogOf([llama, qwen]),
        preload: [preload],
      }),
    ),
  )
  const parallama = await gateway(emulators, 4, 'fair', { x: 1, y: 1 })
  try {
    const before = modelCounters(emulators)
    const users: LoopUser[] = [
      { name: 'x', concurrency: 4, authorization: parallama.authorizations.x!, model: llama },
      { name: 'y', concurrency: 4, authorization: parallama.authorizations.y!, model: qwen },
    ]
    const tallies = await runClosedLoops(parallama.url, users, seconds)
    const after = modelCounters(emulators)
    return { tallies, perBackend: after.map((counts, index) => difference(counts, before[index]!)) }
  } finally {
    await parallama.stop()
    for (const emulator of emulators) await emulator.close()
  }
}

type Counters = Record<string, { served: number; loads: number }>

function difference(after: Counters, before: Counters): Counters {
  return Object.fromEntries(
    Object.entries(after).map(([model, counts]) => [
      model,
      { served: counts.served - before[model]!.served, loads: counts.loads - before[model]!.loads },
    ]),
  )
}

function affinityShare(perBackend: Counters[]): { served: number; loads: number; share: number } {
  const all = perBackend.flatMap((counts) => Object.values(counts))
  const served = all.reduce((sum, counts) => sum + counts.served, 0)
  const loads = all.reduce((sum, counts) => sum + counts.loads, 0)
  return { served, loads, share: served ? 1 - loads / served : 0 }
}

function goals(flood: TargetResult[], weighted: TargetResult, affinity: { share: number }): Goal[] {
  const [direct, , fair] = flood as [TargetResult, TargetResult, TargetResult]
  const ratio = (weighted.shares.heavy ?? 0) / (weighted.shares.light ?? 1)
  return [
    {
      goal: `fair: B's p95 wait <= one request's measured service time + 50 ms (${fair.serviceP50Ms.toFixed(0)} + 50 ms)`,
      measured: `${fair.bWaitP95Ms.toFixed(0)} ms`,
      met: fair.bWaitP95Ms <= fair.serviceP50Ms + 50,
    },
    {
      goal: 'fair: utilisation >= 0.97 of direct',
      measured: `${(fair.utilisation / direct.utilisation).toFixed(3)} (${fair.utilisation.toFixed(3)} / ${direct.utilisation.toFixed(3)})`,
      met: fair.utilisation >= 0.97 * direct.utilisation,
    },
    {
      goal: 'weights 1:2 give a token share of 1:2 ± 10 %',
      measured: `1:${ratio.toFixed(2)}`,
      met: Math.abs(ratio - 2) <= 0.2,
    },
    {
      goal: 'model affinity: >= 95 % of requests land where the model is loaded',
      measured: `${(affinity.share * 100).toFixed(1)} %`,
      met: affinity.share >= 0.95,
    },
  ]
}

const emulator = await startEmulator({ knobs: { tokens, delayMs }, scheduler: { parallel: 1 } })
let flood: TargetResult[]
let weighted: TargetResult
try {
  flood = await floodRuns(emulator)
  weighted = await weightedRun(emulator)
} finally {
  await emulator.close()
}
const affinityRaw = await affinityRun()
const affinity = { ...affinityShare(affinityRaw.perBackend), perBackend: affinityRaw.perBackend }

process.stdout.write(
  `one slot, ${tokens} tokens ${delayMs} ms apart (${serviceMs} ms a request), ${seconds} s each\n\n`,
)
printTargets(flood)
process.stdout.write(
  `\nweights 1:2 (two users, 8 streams each, fair): light ${(weighted.shares.light! * 100).toFixed(1)} %, heavy ` +
    `${(weighted.shares.heavy! * 100).toFixed(1)} % of ${weighted.tokens} tokens\n`,
)
process.stdout.write(
  `model affinity (two backends, 4 slots each, mixed load): ${affinity.served} requests served, ${affinity.loads} ` +
    `loads, ${(affinity.share * 100).toFixed(1)} % landed on a loaded model\n`,
)
const verdicts = goals(flood, weighted, affinity)
printGoals(verdicts)

mkdirSync('bench/results', { recursive: true })
const file = `bench/results/${new Date().toISOString().slice(0, 10)}-fairness.json`
const when = new Date().toISOString()
const settings = { seconds, tokens, delayMs, serviceMs, tokensPerSecond }
const json = { when, node: process.version, settings, flood, weighted, affinity, goals: verdicts }
writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
process.stdout.write(`\nresults written to ${file}\n`)
