// Where a request goes: a backend that takes traffic, with a free slot, with the model loaded (else installed, on the
// one with the fewest models loaded), the least busy per weight; unknown inventory counts as installed.
import t from 'tap'
import { Pool } from 'undici'
import { Backend } from '../../src/proxy/backends.js'
import { noBackendHas, pickBackend } from '../../src/proxy/pickBackend.js'

const pool = new Pool('http://127.0.0.1:9')
t.teardown(() => pool.close())
const settings = { eject_after: 1, eject_cooldown: 1000, eject_cooldown_max: 8000 }

function backend(name: string, installed?: string[], loaded: string[] = [], parallel = 1, weight = 1): Backend {
  const made = new Backend({ name, url: 'http://127.0.0.1:9', weight, parallel }, pool, { upstream: () => settings })
  if (installed) made.inventory.updateInstalled({ models: installed.map((model) => ({ name: model, model })) })
  made.inventory.updateLoaded({ models: loaded.map((name) => ({ name, expires_at: '2999-01-01T00:00:00Z' })) }, 0)
  return made
}

const names = (picked: Backend | undefined) => picked?.name

t.test('the model loaded first, then installed on the backend with the fewest models loaded', async (t) => {
  const a = backend('a', ['llama3:latest', 'qwen:7b'], ['qwen:7b', 'phi:latest'])
  const b = backend('b', ['llama3:latest'], ['mistral:latest'])
  const c = backend('c', ['llama3:latest', 'qwen:7b'], ['llama3:latest'])
  t.equal(names(pickBackend([a, b, c], 'llama3:latest', undefined, 0)), 'c', 'loaded')
  t.equal(names(pickBackend([a, b], 'llama3:latest', undefined, 0)), 'b', 'installed, fewest loaded')
  t.equal(names(pickBackend([a, b, c], 'qwen:7b', undefined, 0)), 'a')
  t.equal(names(pickBackend([a, b, c], 'qwen:7b', [a], 0)), 'c', 'skipped: the next that has it')
  t.equal(names(pickBackend([b, c], 'nowhere:latest', undefined, 0)), 'b', 'no one has it: any (a pull, a create)')
})

t.test('a free slot before the model loaded on a busy backend', async (t) => {
  const a = backend('a', ['m:latest'], ['m:latest'], 1)
  const b = backend('b', ['m:latest'], [], 1)
  a.dispatched('m:latest')
  t.equal(names(pickBackend([a, b], 'm:latest', undefined, 0)), 'b')
  b.dispatched('m:latest')
  t.equal(names(pickBackend([a, b], 'm:latest', undefined, 0)), 'a', 'both busy: loaded (it is now on both)')
})

t.test('the least busy per weight among equals', async (t) => {
  const a = backend('a', undefined, [], 8, 1)
  const b = backend('b', undefined, [], 8, 3)
  for (let i = 0; i < 2; i++) a.dispatched(null)
  for (let i = 0; i < 3; i++) b.dispatched(null)
  t.equal(names(pickBackend([a, b], null, undefined, 0)), 'b', '3/3 < 2/1')
})

t.test('a dispatch marks its model loaded; names are normal forms', async (t) => {
  const a = backend('a', ['llama3'], [])
  t.ok(a.installed('llama3:latest'), 'llama3 is llama3:latest')
  t.notOk(a.loaded('llama3:latest'))
  a.dispatched('llama3:latest')
  t.ok(a.loaded('llama3:latest'))
  t.equal(a.loadedCount, 1)
})

t.test('unknown inventory counts as installed; noBackendHas only once every backend answered', async (t) => {
  const fresh = backend('fresh')
  const known = backend('known', ['a:latest'])
  t.ok(fresh.installed('anything:latest'))
  t.notOk(noBackendHas([fresh, known], 'b:latest'), 'the fresh one may have it')
  t.ok(noBackendHas([known], 'b:latest'))
  t.notOk(noBackendHas([known], 'a:latest'))
})

t.test('an ejected or unhealthy backend only when none other is left', async (t) => {
  const a = backend('a')
  const b = backend('b')
  a.recordFailure('ECONNREFUSED', 0)
  t.equal(names(pickBackend([a, b], null, undefined, 10)), 'b')
  t.equal(names(pickBackend([a, b], null, [b], 10)), 'a', 'the only one left')
  b.recordHealth('ECONNREFUSED', 10)
  t.equal(names(pickBackend([a, b], null, undefined, 10)), 'a', 'both out: still an answer')
  t.equal(names(pickBackend([a, b], null, undefined, 1000)), 'a', 'a half-open: its probe')
})

t.test('/api/ps entries: past expires_at at poll time means busy (loaded); otherwise loaded until then', async (t) => {
  const a = backend('a', ['x:latest', 'y:latest'])
  a.inventory.updateLoaded(
    {
      models: [
        { name: 'x', model: 'x:latest', expires_at: new Date(5000).toISOString() },
        { name: 'y:latest', expires_at: new Date(500).toISOString() },
      ],
    },
    1000,
  )
  t.ok(a.loaded('x:latest', 4999))
  t.notOk(a.loaded('x:latest', 5000), 'unloaded by now')
  t.ok(a.loaded('y:latest', 1_000_000), 'busy at poll time: loaded until the next poll')
  t.notOk(a.inventory.updateLoaded({ nope: 1 }, 0), 'a malformed answer changes nothing')
  t.equal(a.loadedCount, 2)
})
