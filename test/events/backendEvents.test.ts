// backend.down and backend.up: the health checks report a change of state, once per change (a first check that
// answers announces nothing; one that fails announces the backend down).
import { createServer } from 'node:http'
import t from 'tap'
import { Pool } from 'undici'
import type { GatewayEvent } from '../../src/events/events.js'
import { EventBus } from '../../src/events/eventBus.js'
import { BackendHealth } from '../../src/proxy/backendHealth.js'
import { Backend } from '../../src/proxy/backends.js'

t.test('a backend that stops answering is announced down once, and up once when it answers again', async (t) => {
  let status = 200
  const server = createServer((req, res) => res.writeHead(status).end('{"version":"0.0.0"}'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const pool = new Pool(url)
  t.teardown(() => pool.close())
  const seen: GatewayEvent[] = []
  const bus = new EventBus()
  bus.subscribe((event) => seen.push(event))
  const upstream = () => ({ eject_after: 2, eject_cooldown: 5000, eject_cooldown_max: 300_000 })
  const backend = new Backend({ name: 'gpu1', url, weight: 1, parallel: 1 }, pool, { upstream, emit: bus.emit })
  const health = new BackendHealth(() => [backend], 60_000)
  const types = () => seen.map((event) => event.type)
  await health.checkAll()
  t.same(types(), [], 'a first check that answers announces nothing')
  status = 500
  await health.checkAll()
  await health.checkAll()
  t.same(types(), ['backend.down'], 'down once, however many checks fail')
  t.same(seen[0]!.data, { backend: 'gpu1', url, error: 'status 500' })
  status = 200
  await health.checkAll()
  await health.checkAll()
  t.same(types(), ['backend.down', 'backend.up'], 'up once')
  t.match(seen[1]!.id, /^evt_/)
})
