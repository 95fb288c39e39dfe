// Two backends, one parallel slot each, the first one dead (its port refuses connections). A scheduled request sent
// to the dead one failed over only onto a slot free at that very moment: the live backend being busy, the request was
// answered 502 upstream_unreachable although no backend ever saw it — and the dead backend's slot, freed, took the
// next waiter straight to the same fate. A request that never started answering must wait for a slot elsewhere.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { configFrom } from '../../src/config/load.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const model = 'llama3.2:3b'

async function generate(rig: Rig, signal?: AbortSignal): Promise<number | string> {
  try {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      signal,
      headers: { ...rig.headers, 'x-emulator-tokens': '3', 'x-emulator-delay-ms': '20' },
      body: JSON.stringify({ model, prompt: 'hi', stream: true }),
    })
    await response.body.text()
    return response.statusCode
  } catch {
    return 'aborted'
  }
}

async function busy(rig: Rig): Promise<number> {
  const response = await request(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
  const body = (await response.body.json()) as { models: { waiting: number; running: number }[] }
  return body.models.reduce((sum, entry) => sum + entry.waiting + entry.running, 0)
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function twoBackends(t: Parameters<typeof startRig>[0]): Promise<Rig> {
  const rig = await startRig(t, {}, { scheduler: { parallel: 1 } })
  const dead = await deadPort()
  rig.gateway.reload(
    configFrom(
      {
        server: { host: '127.0.0.1', port: 0 },
        log: { level: 'debug' },
        database: { path: rig.config.database.path },
        auth: { jwt_secret_file: rig.config.auth.jwt_secret_file },
        metrics: { backend_check_interval: '1h' },
        backends: [
          { url: `http://127.0.0.1:${dead}`, name: 'dead', parallel: 1 },
          { url: rig.emulator.url, name: 'live', parallel: 1 },
        ],
      },
      {},
    ),
  )
  return rig
}

t.test('a request the dead backend refused waits for the live one instead of failing', async (t) => {
  const rig = await twoBackends(t)
  const statuses = await Promise.all(Array.from({ length: 6 }, () => generate(rig)))
  t.same(statuses, [200, 200, 200, 200, 200, 200], 'none lost: none had started answering')
  t.equal(rig.ended.length, 6, 'one usage result each')
  t.ok(
    rig.ended.every((result) => result.backend === 'live' && result.status === 200),
    'all served by the live backend',
  )
  t.equal(rig.emulator.scheduler.countsOf(model).peakQueued, 0, 'the live one never got more than its slot')
  t.equal(await busy(rig), 0, 'no slot held, nobody waiting')
  t.same(await Promise.all([generate(rig), generate(rig)]), [200, 200], 'and the next ones are served')
})

t.test('clients leaving while their failed-over requests wait: nothing leaks', async (t) => {
  const rig = await twoBackends(t)
  const controllers = Array.from({ length: 6 }, () => new AbortController())
  const all = controllers.map((controller) => generate(rig, controller.signal))
  await sleep(40)
  for (const controller of controllers.slice(2)) controller.abort()
  await Promise.all(all)
  for (let tries = 0; tries < 100 && rig.ended.length < 6; tries++) await sleep(10)
  t.equal(rig.ended.length, 6, 'one usage result each')
  t.equal(await busy(rig), 0, 'no slot held, nobody waiting')
  t.same(await Promise.all([generate(rig), generate(rig)]), [200, 200], 'and the next ones are served')
})
