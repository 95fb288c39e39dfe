// The inventory from two emulators holding different models: installed from /api/tags, loaded from /api/ps, polled by
// the health checks' one timer; the picker then sends each model where it is loaded. Before a first poll (or from a
// backend whose lists cannot be read) every model counts as installed.
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { defaultModels } from '../../bench/emulator/catalog.js'
import { startEmulator } from '../../bench/emulator/server.js'
import { BackendHealth } from '../../src/proxy/backendHealth.js'
import { Backend } from '../../src/proxy/backends.js'
import { pickBackend } from '../../src/proxy/pickBackend.js'
import { startRawBackend } from '../helpers/rawBackend.js'

const [llama, qwen, nomic] = defaultModels as [
  (typeof defaultModels)[0],
  (typeof defaultModels)[0],
  (typeof defaultModels)[0],
]
const upstream = () => ({ eject_after: 2, eject_cooldown: 1000, eject_cooldown_max: 8000 })

function backendAt(t: Test, name: string, url: string): Backend {
  const pool = new Pool(url)
  t.teardown(() => pool.close())
  return new Backend({ name, url, weight: 1, parallel: 1 }, pool, { upstream })
}

t.test('installed and loaded models from each emulator, and model-affine picks', async (t) => {
  // The emulator lists its first model as loaded.
  const first = await startEmulator({ models: [llama, qwen] })
  const second = await startEmulator({ models: [qwen, nomic] })
  t.teardown(() => first.close())
  t.teardown(() => second.close())
  const a = backendAt(t, 'a', first.url)
  const b = backendAt(t, 'b', second.url)
  t.ok(a.installed('nomic-embed-text:latest'), 'not polled yet: counts as installed')
  let now = Date.parse('2026-12-01T00:00:00Z')
  const health = new BackendHealth(
    () => [a, b],
    60_000,
    () => now,
  )
  await health.checkAll()
  t.same(a.inventory.installedList, ['llama3.2:3b', 'qwen2.5:0.5b'])
  t.same(b.inventory.installedList, ['qwen2.5:0.5b', 'nomic-embed-text:latest'])
  t.ok(a.loaded('llama3.2:3b', now) && !a.loaded('qwen2.5:0.5b', now))
  t.ok(b.loaded('qwen2.5:0.5b', now))
  t.notOk(a.installed('nomic-embed-text:latest'))
  t.equal(a.lastOkAt, now, 'the same poll checked /api/version')
  const pick = (model: string) => pickBackend([a, b], model, undefined, now)?.name
  t.same(
    ['llama3.2:3b', 'qwen2.5:0.5b', 'nomic-embed-text:latest'].map(pick),
    ['a', 'b', 'b'],
    'each where it is loaded, else installed',
  )
  now += 1
  a.dispatched('qwen2.5:0.5b')
  a.outstanding--
  t.equal(a.loadedCount, 2, 'a dispatch of qwen marks it loaded on a')
  await health.checkAll()
  t.equal(a.loadedCount, 1, 'until the next poll says what really is')
})

t.test('a backend whose model lists cannot be read keeps an unknown inventory (all installed)', async (t) => {
  const raw = await startRawBackend()
  t.teardown(() => raw.close())
  const backend = backendAt(t, 'raw', raw.url)
  await new BackendHealth(() => [backend], 60_000).checkAll()
  t.equal(backend.lastError, undefined, 'it answers /api/version')
  t.notOk(backend.inventory.known)
  t.ok(backend.installed('anything:latest'))
})
