// The admin inventory across backends from what their /api/tags and /api/ps said: a model on some backends only, or
// with different digests, differs; loaded models carry size_vram; a backend not polled yet is left out; fields a
// backend gave in the wrong type are null, not passed on.
import t from 'tap'
import { Pool } from 'undici'
import { Backend } from '../../src/proxy/backends.js'
import { modelInventory } from '../../src/proxy/modelInventory.js'

const upstream = () => ({ eject_after: 2, eject_cooldown: 1000, eject_cooldown_max: 8000 })
const pool = new Pool('http://127.0.0.1:9')
t.teardown(() => pool.close())
const backend = (name: string) =>
  new Backend({ name, url: `http://${name}:11434`, weight: 1, parallel: 1 }, pool, { upstream })
const tag = (name: string, digest: unknown, size: unknown = 100) => ({
  name,
  model: name,
  digest,
  size,
  modified_at: '2026-11-30T10:00:00Z',
})

t.test('differs when some backends lack a model or digests differ', async (t) => {
  const now = Date.parse('2026-12-01T00:00:00Z')
  const [a, b, c] = [backend('a'), backend('b'), backend('c')]
  a.inventory.updateInstalled({ models: [tag('same:1', 'd1'), tag('only-a:1', 'd2'), tag('changed:1', 'd3')] })
  b.inventory.updateInstalled({ models: [tag('same:1', 'd1'), tag('changed:1', 'd4', 'big')] })
  a.inventory.updateLoaded(
    { models: [{ name: 'same:1', size_vram: 90, expires_at: '2026-12-01T00:05:00Z', digest: 'd1', size: 100 }] },
    now,
  )
  const items = modelInventory([a, b, c], now)
  t.same(
    items.map((item) => [item.model, item.differs]),
    [
      ['changed:1', true],
      ['only-a:1', true],
      ['same:1', false],
    ],
  )
  t.same(
    items.map((item) => item.backends.map((entry) => entry.backend)),
    [
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ],
    'c has not answered /api/tags: left out',
  )
  t.same(items[2]!.backends[0], {
    backend: 'a',
    installed: true,
    loaded: true,
    size: 100,
    digest: 'd1',
    modified_at: '2026-11-30T10:00:00Z',
    size_vram: 90,
  })
  t.same(items[0]!.backends[1], {
    backend: 'b',
    installed: true,
    loaded: false,
    size: null,
    digest: 'd4',
    modified_at: '2026-11-30T10:00:00Z',
  })
  t.match(items[1]!.backends[1], { backend: 'b', installed: false, loaded: false, size: null, digest: null })
})

t.test('a model loaded but not listed as installed still shows, with what /api/ps said', async (t) => {
  const now = Date.parse('2026-12-01T00:00:00Z')
  const a = backend('a')
  a.inventory.updateInstalled({ models: [] })
  a.inventory.updateLoaded({ models: [{ name: 'ghost', digest: 'd9', size: 5, size_vram: 5 }] }, now)
  t.same(modelInventory([a], now), [
    {
      model: 'ghost:latest',
      backends: [
        { backend: 'a', installed: false, loaded: true, size: 5, digest: 'd9', modified_at: null, size_vram: 5 },
      ],
      differs: true,
    },
  ])
})
