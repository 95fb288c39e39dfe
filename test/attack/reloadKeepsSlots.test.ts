// A reload that rebuilds the backend pools (a backend added, timeouts.connect changed) makes new Backend objects for
// the same Ollama servers. The scheduler counts running requests per Backend object, so the rebuilt backend looked
// idle while the requests on its old object still ran: queued requests went at once and Ollama got more than its
// slots (Ollama queued it).
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { configFrom } from '../../src/config/load.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const model = 'llama3.2:3b'

async function generate(rig: Rig, tokens: number) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: { ...rig.headers, 'x-emulator-tokens': String(tokens), 'x-emulator-delay-ms': '20' },
    body: JSON.stringify({ model, prompt: 'hi', stream: true }),
  })
  await response.body.text()
  return response.statusCode
}

async function waiting(rig: Rig): Promise<number> {
  const response = await request(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
  const body = (await response.body.json()) as { models: { waiting: number }[] }
  return body.models.reduce((sum, entry) => sum + entry.waiting, 0)
}

t.test('a reload that rebuilds the pools keeps counting the requests running on them', async (t) => {
  const rig = await startRig(t, {}, { scheduler: { parallel: 1 } })
  const backends = [{ url: rig.emulator.url, name: 'emulator', parallel: 1 }]
  const first = configFrom({ ...rawOf(rig), backends }, {})
  rig.gateway.reload(first)
  const running = generate(rig, 15)
  const queued = [generate(rig, 3), generate(rig, 3)]
  for (let tries = 0; tries < 300 && (await waiting(rig)) < 2; tries++) await sleep(5)
  t.equal(await waiting(rig), 2, 'two wait behind the running one')
  // Same Ollama, new pool (the connect timeout changed).
  rig.gateway.reload(configFrom({ ...rawOf(rig), backends, timeouts: { connect: '7s' } }, {}))
  t.equal(await waiting(rig), 2, 'the reload freed no slot: both still wait')
  t.same(await Promise.all([running, ...queued]), [200, 200, 200], 'all served, none dropped')
  const counts = rig.emulator.scheduler.countsOf(model)
  t.equal(counts.peakRunning, 1, 'Ollama never ran more than its one slot')
  t.equal(counts.peakQueued, 0, 'nor queued one: the gateway held them')
  t.equal(await waiting(rig), 0)
})

/** The settings the rig started from (as configFrom reads them). */
function rawOf(rig: Rig): Record<string, any> {
  const c = rig.config
  return {
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'debug' },
    database: { path: c.database.path },
    auth: { jwt_secret_file: c.auth.jwt_secret_file },
    metrics: { backend_check_interval: '1h' },
  }
}
