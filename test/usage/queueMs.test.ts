// queue_ms (issue 13): how long a request waited in the gateway's queue travels from its state through finish to its
// usage row (whole ms), the writer and the table, and out through the usage API and `usage export` (CSV and JSON
// lines). A request that never waited says 0, which is what every request says until a queue holds one.
import t from 'tap'
import { request } from 'undici'
import { RequestState } from '../../src/api/requestState.js'
import { configFrom } from '../../src/config/load.js'
import type { RequestSnapshot } from '../../src/http/requestSnapshot.js'
import type { ExchangeResult } from '../../src/proxy/exchange.js'
import { finishStage, withoutBackend } from '../../src/usage/finish.js'
import { Pricing } from '../../src/usage/pricing.js'
import { usageRowOf } from '../../src/usage/usageRows.js'
import { runCli } from '../helpers/cli.js'
import { startRig, type Rig } from '../helpers/gateway.js'
import { usageRow } from '../helpers/usageRow.js'

const route = {
  dialect: 'ollama',
  api: 'ollama',
  name: 'generate',
  upstreamPath: '/api/generate',
  usesTokens: true,
} as const
const snapshot = { requestId: 'queued-1', time: 1_000, clientIp: '127.0.0.1' } as RequestSnapshot

t.test(
  'a new request has waited 0 ms and was not queued; finish carries the wait to the row, in whole ms',
  async (t) => {
    const state = new RequestState(snapshot, route, 0)
    t.equal(state.queueMs, 0)
    t.equal(state.queued, false)
    const results: ExchangeResult[] = []
    const finish = finishStage([(result: ExchangeResult) => results.push(result)], (error) => {
      throw error
    })
    state.queued = true
    state.queueMs = 250.6
    finish(state, withoutBackend(200, 0, false), undefined)
    t.equal(results[0]!.queueMs, 250.6, 'the result carries the wait as measured')
    const pricing = new Pricing(configFrom({}).usage)
    t.equal(usageRowOf(results[0]!, pricing).queueMs, 251, 'the row holds whole ms')
    t.equal(usageRowOf({ ...results[0]!, queueMs: 0 }, pricing).queueMs, 0)
  },
)

async function usageRequests(rig: Rig): Promise<Record<string, unknown>[]> {
  const response = await request(`${rig.url}/admin/v1/usage/requests?since=1d`, { headers: rig.headers })
  return ((await response.body.json()) as { items: Record<string, unknown>[] }).items
}

async function cli(rig: Rig, ...args: string[]): Promise<string> {
  const result = await runCli([...args, '--db', rig.config.database.path])
  if (result.code !== 0) throw new Error(result.stderr)
  return result.stdout
}

t.test('queue_ms in the usage API and in usage export, CSV and JSON lines', async (t) => {
  const rig = await startRig(t)
  const generated = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
    headers: { ...rig.headers, 'x-request-id': 'never-queued' },
  })
  await generated.body.dump()
  await rig.gateway.accounting.recorder.drain()
  // A row as finish writes one for a request that waited 1.5 s (what the scheduler's stage will measure).
  rig.gateway.accounting.store.write([usageRow({ time: Date.now(), requestId: 'waited', queueMs: 1500 })])

  const rows = await usageRequests(rig)
  t.match(
    rows.find((row) => row.request_id === 'never-queued'),
    { route: 'generate', queue_ms: 0 },
    'a request that never waited: 0',
  )
  t.match(
    rows.find((row) => row.request_id === 'waited'),
    { queue_ms: 1500 },
  )

  const csv = (await cli(rig, 'usage', 'export', '--since', '1d')).trim().split('\n')
  const header = csv[0]!.split(',')
  t.equal(header.at(-1), 'queue_ms', 'the last CSV column (the older columns keep their positions)')
  const waitOf = (id: string) =>
    csv
      .find((line) => line.startsWith(`${id},`))!
      .split(',')
      .at(-1)
  t.equal(waitOf('waited'), '1500')
  t.equal(waitOf('never-queued'), '0')
  const lines = (await cli(rig, 'usage', 'export', '--since', '1d', '--format', 'jsonl'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  t.match(
    lines.find((line) => line.request_id === 'waited'),
    { queue_ms: 1500 },
  )
})
