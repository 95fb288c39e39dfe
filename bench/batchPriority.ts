// `npm run bench:batch [-- --seconds 15]`: batch lines at low priority (issue 16). An emulated Ollama with 4 slots (10
// tokens 20 ms apart: ~200 ms a request, 20 requests/s at most) behind the gateway (parallel 4). Interactive requests
// arrive at random (Poisson, ~40 % of capacity) for `seconds`; their queue wait in the gateway is read from
// Server-Timing (`queue;dur=`). Runs: interactive alone; interactive while a large batch runs, with the default reserve
// (batch.interactive_reserve_window) and without one; then a batch alone on the idle gateway, against the time its
// lines would take with every slot busy. Writes JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import OpenAI, { toFile } from 'openai'
import { request } from 'undici'
import { startEmulator, type Emulator } from './emulator/server.js'
import { startParallama } from './processes.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' } } })
const seconds = Number(values.seconds)
const slots = 4
const tokens = 10
const delayMs = 20
const serviceMs = tokens * delayMs
const interactivePerSecond = (0.4 * (slots * 1000)) / serviceMs
const model = 'llama3.2:3b'

async function gateway(emulator: Emulator, reserve: string) {
  const started = await startParallama(emulator.url, 'all', {
    backends: [{ url: emulator.url, parallel: slots }],
    env: { PARALLAMA_BATCH__INTERACTIVE_RESERVE_WINDOW: reserve, PARALLAMA_BATCH__MAX_IN_FLIGHT: String(slots * 2) },
  })
  await sleep(1000)
  return started
}

function batchFile(lines: number): Buffer {
  const text = Array.from({ length: lines }, (_, index) =>
    JSON.stringify({
      custom_id: `line-${index}`,
      method: 'POST',
      url: '/v1/chat/completions',
      // Streamed: the emulator spends its per-token delay on streams only (a whole reply comes at once).
      body: { model, messages: [{ role: 'user', content: `question ${index}` }], stream: true },
    }),
  ).join('\n')
  return Buffer.from(text)
}

async function startBatch(openai: OpenAI, lines: number) {
  const file = await openai.files.create({ file: await toFile(batchFile(lines), 'bench.jsonl'), purpose: 'batch' })
  return openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
}

/** Interactive requests at random times for `seconds`; each one's gateway queue wait (ms). */
async function interactive(url: string, authorization: string): Promise<number[]> {
  const waits: number[] = []
  const running: Promise<void>[] = []
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    running.push(
      request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'now' }], stream: true }),
      }).then(async (response) => {
        await response.body.text()
        const timing = String(response.headers['server-timing'] ?? '')
        waits.push(Number(/queue;dur=([\d.]+)/.exec(timing)?.[1] ?? 0))
      }),
    )
    await sleep(-Math.log(1 - Math.random()) * (1000 / interactivePerSecond))
  }
  await Promise.all(running)
  return waits
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

interface WaitRun {
  name: string
  requests: number
  p50: number
  p95: number
  mean: number
  batchLinesDone?: number
}

async function waitRun(emulator: Emulator, name: string, reserve: string, withBatch: boolean): Promise<WaitRun> {
  const parallama = await gateway(emulator, reserve)
  try {
    const openai = new OpenAI({ baseURL: `${parallama.url}/v1`, apiKey: parallama.authorization.slice(7) })
    const batch = withBatch ? await startBatch(openai, 5000) : undefined
    if (batch) await sleep(1000)
    const waits = await interactive(parallama.url, parallama.authorization)
    let batchLinesDone: number | undefined
    if (batch) {
      batchLinesDone = (await openai.batches.retrieve(batch.id)).request_counts?.completed
      await openai.batches.cancel(batch.id)
    }
    const mean = waits.reduce((sum, wait) => sum + wait, 0) / waits.length
    return {
      name,
      requests: waits.length,
      p50: percentile(waits, 50),
      p95: percentile(waits, 95),
      mean,
      batchLinesDone,
    }
  } finally {
    await parallama.stop()
  }
}

/** A batch alone on the idle gateway: its duration against every slot busy all the time. */
async function idleRun(emulator: Emulator, lines: number) {
  const parallama = await gateway(emulator, '5s')
  try {
    const openai = new OpenAI({ baseURL: `${parallama.url}/v1`, apiKey: parallama.authorization.slice(7) })
    const started = performance.now()
    const batch = await startBatch(openai, lines)
    let status = batch.status
    while (!['completed', 'failed', 'cancelled', 'expired'].includes(status)) {
      await sleep(50)
      status = (await openai.batches.retrieve(batch.id)).status
    }
    const seconds = (performance.now() - started) / 1000
    const ideal = (lines * serviceMs) / slots / 1000
    return { lines, status, seconds, idealSeconds: ideal, speed: ideal / seconds }
  } finally {
    await parallama.stop()
  }
}

const emulator = await startEmulator({ knobs: { tokens, delayMs, firstTokenMs: 0 }, scheduler: { parallel: slots } })
try {
  const runs: WaitRun[] = []
  runs.push(await waitRun(emulator, 'interactive alone', '5s', false))
  runs.push(await waitRun(emulator, 'interactive + batch (reserve 5s)', '5s', true))
  runs.push(await waitRun(emulator, 'interactive + batch (no reserve)', '0', true))
  const idle = await idleRun(emulator, 400)
  console.log(
    `interactive: ${interactivePerSecond.toFixed(1)}/s for ${seconds} s, ${slots} slots, ${serviceMs} ms each`,
  )
  for (const run of runs) {
    const ratio = run.p95 / Math.max(runs[0]!.p95, 1)
    console.log(
      `${run.name.padEnd(36)} n=${run.requests} wait p50 ${run.p50.toFixed(1)} ms, p95 ${run.p95.toFixed(1)} ms` +
        ` (${ratio.toFixed(2)}x alone), mean ${run.mean.toFixed(1)} ms` +
        (run.batchLinesDone === undefined ? '' : `, batch lines done ${run.batchLinesDone}`),
    )
  }
  console.log(
    `batch alone: ${idle.lines} lines in ${idle.seconds.toFixed(1)} s (every slot busy: ${idle.idealSeconds.toFixed(1)} s) → ${(idle.speed * 100).toFixed(0)} % of full speed`,
  )
  mkdirSync('bench/results', { recursive: true })
  const file = `bench/results/${new Date().toISOString().slice(0, 10)}-batch-priority.json`
  writeFileSync(file, JSON.stringify({ seconds, slots, serviceMs, interactivePerSecond, runs, idle }, null, 2) + '\n')
  console.log(`written ${file}`)
} finally {
  await emulator.close()
}
