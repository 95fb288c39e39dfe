// The backends and models admin API against two emulators: the inventory across them (and where they differ after a
// pull to one), a pull to all streaming both backends' progress, one backend down or failing while the other succeeds,
// a client leaving mid-pull cancelling both upstream pulls, delete and copy, drain and undrain (and the drain kept by
// a reload), permission denials, and bad inputs that always get a 4xx problem, never a 500.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { catalogOf } from '../../bench/emulator/catalog.js'
import { errorTable } from '../../src/errors.js'
import { expectMatches } from '../helpers/expectMatches.js'
import { startRig } from '../helpers/gateway.js'

const models = catalogOf(['llama3.2:3b', 'qwen2.5:0.5b'])
const a = await startEmulator({ models })
const b = await startEmulator({ models })
t.teardown(() => Promise.all([a.close(), b.close()]))
const rig = await startRig(t, {
  backends: [
    { url: a.url, name: 'a', parallel: 8 },
    { url: b.url, name: 'b', parallel: 8 },
  ],
})
const admin = '/admin/v1'

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers = rig.headers) {
  const response = await request(rig.url + admin + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.body.text()
  const json =
    /^application\/(problem\+)?json/.test(String(response.headers['content-type'])) && text
      ? JSON.parse(text)
      : undefined
  return { status: response.statusCode, headers: response.headers, json, text }
}

/** A pull's answer, as the lines it streamed. */
async function pull(body: unknown) {
  const response = await call('POST', '/models/pull', body)
  const lines = response.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>)
  return { ...response, lines }
}

async function inventory() {
  const { status, json } = await call('GET', '/models')
  expectMatches('models_list', status, json)
  return new Map((json.items as any[]).map((item) => [item.model, item]))
}

async function backendState(name: string) {
  const { json } = await call('GET', '/backends')
  return (json.items as any[]).find((item) => item.name === name)
}

t.test('the backends with their live state', async (t) => {
  const { status, json } = await call('GET', '/backends')
  t.equal(status, 200)
  expectMatches('backends_list', status, json)
  t.same(
    json.items.map((item: any) => [item.name, item.state, item.parallel, item.in_flight, item.queued]),
    [
      ['a', 'up', 8, 0, 0],
      ['b', 'up', 8, 0, 0],
    ],
  )
  t.same(json.items[0].models_loaded, ['llama3.2:3b'], 'the emulator holds its first model in memory')
  t.equal(json.next_cursor, null)
  const first = await call('GET', '/backends?limit=1')
  t.same(
    first.json.items.map((item: any) => item.name),
    ['a'],
  )
  const second = await call('GET', `/backends?limit=1&cursor=${first.json.next_cursor}`)
  t.same(
    second.json.items.map((item: any) => item.name),
    ['b'],
  )
  t.equal(second.json.next_cursor, null)
})

t.test('the inventory across backends; a pull to one makes them differ', async (t) => {
  const before = await inventory()
  t.same([...before.keys()], ['llama3.2:3b', 'qwen2.5:0.5b'])
  t.equal(before.get('llama3.2:3b').differs, false)
  t.match(before.get('llama3.2:3b').backends, [
    { backend: 'a', installed: true, loaded: true, size: 2019393189, size_vram: 2019393189 },
    { backend: 'b', installed: true, loaded: true },
  ])
  const pulled = await pull({ model: 'tiny:1b', backend: 'a' })
  t.equal(pulled.status, 200)
  t.match(pulled.headers['content-type'], 'application/x-ndjson')
  for (const line of pulled.lines) expectMatches('models_pull', 200, line)
  t.ok(
    pulled.lines.every((line) => line.backend === 'a'),
    'every line from a',
  )
  t.same(pulled.lines[0], { backend: 'a', status: 'pulling manifest' })
  t.same(pulled.lines.at(-1), { backend: 'a', status: 'success' })
  t.ok(
    pulled.lines.some((line) => line.total > 0 && line.completed === line.total && line.digest?.startsWith('sha256:')),
  )
  const after = await inventory()
  const tiny = after.get('tiny:1b')
  t.equal(tiny.differs, true, 'installed on a only')
  t.match(tiny.backends, [
    { backend: 'a', installed: true },
    { backend: 'b', installed: false, size: null, digest: null },
  ])
})

t.test('a pull to all streams both backends and ends with a success line from each', async (t) => {
  const pulled = await pull({ model: 'phi3:mini' })
  t.equal(pulled.status, 200)
  const ends = pulled.lines.filter((line) => line.status === 'success')
  t.same(ends.map((line) => line.backend).sort(), ['a', 'b'])
  for (const name of ['a', 'b']) {
    t.ok(pulled.lines.filter((line) => line.backend === name).length > 3, `progress from ${name}`)
    t.same(pulled.lines.filter((line) => line.backend === name).at(-1), { backend: name, status: 'success' })
  }
  const phi = (await inventory()).get('phi3:mini')
  t.equal(phi.differs, false, 'the same digest on both')
  t.ok(phi.backends.every((entry: any) => entry.installed && entry.modified_at))
})

t.test('one backend down: its error line, the other succeeds', async (t) => {
  await b.stop()
  t.teardown(() => b.start())
  const pulled = await pull({ model: 'gemma:2b' })
  t.equal(pulled.status, 200)
  const fromB = pulled.lines.filter((line) => line.backend === 'b')
  t.equal(fromB.length, 1, 'b says only how it ended')
  t.match(fromB[0], {
    backend: 'b',
    error: { code: 'upstream_unreachable', message: /backend b could not be reached/ },
  })
  expectMatches('models_pull', 200, fromB[0])
  t.same(pulled.lines.filter((line) => line.backend === 'a').at(-1), { backend: 'a', status: 'success' })
})

t.test("a backend's own error mid-pull ends its part; the other goes on", async (t) => {
  b.knobs.fault = 'error_mid_stream'
  t.teardown(() => {
    b.knobs.fault = 'none'
  })
  const pulled = await pull({ model: 'mistral:7b' })
  const last = (name: string) => pulled.lines.filter((line) => line.backend === name).at(-1)
  t.same(last('a'), { backend: 'a', status: 'success' })
  t.match(last('b'), { backend: 'b', error: { code: 'upstream_failed', message: /backend b: .*emulated failure/ } })
  t.notOk((await inventory()).get('mistral:7b').backends.find((entry: any) => entry.backend === 'b').installed)
})

t.test('the client leaving mid-pull cancels the pull on every backend', async (t) => {
  for (const emulator of [a, b]) emulator.knobs.delayMs = 20
  t.teardown(() => {
    for (const emulator of [a, b]) emulator.knobs.delayMs = 0
  })
  const aborted = Promise.all([a.nextAbort(), b.nextAbort()])
  const controller = new AbortController()
  const response = await request(rig.url + admin + '/models/pull', {
    method: 'POST',
    headers: { ...rig.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow:1b' }),
    signal: controller.signal,
  })
  const seen = new Set<string>()
  for await (const chunk of response.body) {
    for (const line of String(chunk).split('\n').filter(Boolean)) seen.add(JSON.parse(line).backend)
    if (seen.size === 2) break
  }
  controller.abort()
  await aborted
  t.pass('both upstream pulls were aborted')
  const slow = (await inventory()).get('slow:1b')
  t.equal(slow, undefined, 'no backend finished it')
})

t.test('delete and copy', async (t) => {
  const copied = await call('POST', '/models/copy', { source: 'qwen2.5:0.5b', destination: 'mine:v1' })
  t.equal(copied.status, 200)
  expectMatches('models_copy', 200, copied.json)
  t.same(copied.json.backends, [
    { backend: 'a', status: 'success' },
    { backend: 'b', status: 'success' },
  ])
  const mine = (await inventory()).get('mine:v1')
  t.equal(mine.differs, false)
  t.equal(
    mine.backends[0].digest,
    (await inventory()).get('qwen2.5:0.5b').backends[0].digest,
    'a copy keeps the digest',
  )

  const one = await call('DELETE', '/models/mine:v1?backend=b')
  t.equal(one.status, 200)
  expectMatches('models_delete', 200, one.json)
  t.same(one.json, { model: 'mine:v1', backends: [{ backend: 'b', status: 'success' }] })
  t.equal((await inventory()).get('mine:v1').differs, true)

  const missing = await call('DELETE', '/models/mine:v1?backend=b')
  t.equal(missing.status, 404)
  t.match(missing.json, { code: 'model_not_found', detail: /backend b: model 'mine:v1' not found/ })
  expectMatches('models_delete', 404, missing.json)

  const rest = await call('DELETE', '/models/mine%3Av1')
  t.same(rest.json, { model: 'mine:v1', backends: [{ backend: 'a', status: 'success' }] }, 'only where installed')
  t.equal((await inventory()).get('mine:v1'), undefined)
  const nowhere = await call('DELETE', '/models/mine:v1')
  t.match(nowhere, {
    status: 404,
    json: { code: 'model_not_found', detail: 'model "mine:v1" is installed on no backend' },
  })

  const noSource = await call('POST', '/models/copy', { source: 'nope:1', destination: 'x:1', backend: 'a' })
  t.match(noSource, { status: 404, json: { code: 'model_not_found', detail: /backend a: model "nope:1" not found/ } })
  const badName = await call('POST', '/models/copy', { source: 'qwen2.5:0.5b', destination: 'bad!name', backend: 'a' })
  t.match(badName, { status: 400, json: { code: 'invalid_request', detail: /destination "bad!name" is invalid/ } })
})

t.test('drain: new requests avoid the backend, those in flight finish; undrain brings it back', async (t) => {
  const generate = (model = 'llama3.2:3b') =>
    request(rig.url + '/api/generate', {
      method: 'POST',
      headers: { ...rig.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt: 'hi', stream: false }),
    })
  // Requests go to the first of equal backends: a, until it is drained.
  const sent = async (count: number) => {
    const backends: (string | null)[] = []
    for (let i = 0; i < count; i++) {
      const ended = rig.nextEnd()
      const response = await generate()
      t.equal(response.statusCode, 200)
      await response.body.dump()
      backends.push((await ended).backend)
    }
    return backends
  }
  t.same(await sent(2), ['a', 'a'])

  a.knobs.delayMs = 5
  t.teardown(() => {
    a.knobs.delayMs = 0
  })
  const ended = rig.nextEnd()
  const running = await request(rig.url + '/api/generate', {
    method: 'POST',
    headers: { ...rig.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'a long one' }),
  })
  const drained = await call('POST', '/backends/a/drain')
  t.equal(drained.status, 200)
  expectMatches('backends_drain', 200, drained.json)
  t.match(drained.json, { name: 'a', state: 'draining', in_flight: 1 })
  const text = await running.body.text()
  t.match(text, /"done":true/, 'the request in flight finished on the drained backend')
  t.match(await ended, { backend: 'a', status: 200 })
  a.knobs.delayMs = 0

  t.same(await sent(3), ['b', 'b', 'b'], 'new requests avoid the drained backend')
  // tiny:1b is on a only: with a drained, nothing can serve it now.
  const only = await generate('tiny:1b')
  t.equal(only.statusCode, 503)
  t.match(await only.body.json(), { code: 'no_backend', error: /draining/ })

  // A reload that rebuilds the backends keeps the drain (same name and URL).
  rig.gateway.reload({ ...rig.config, timeouts: { ...rig.config.timeouts, connect: rig.config.timeouts.connect + 1 } })
  t.equal((await backendState('a')).state, 'draining', 'kept across a reload')

  // Every backend drained: the gateway is not ready (a load balancer sends traffic elsewhere); one back, it is.
  const ready = async () => (await request(rig.url + '/ready')).body.json() as Promise<{ reasons: string[] }>
  t.equal((await call('POST', '/backends/b/drain')).status, 200)
  t.match(await ready(), { ready: false, reasons: [/every backend is drained/] })
  t.equal((await call('POST', '/backends/b/undrain')).status, 200)
  t.match(await ready(), { ready: true })

  const undrained = await call('POST', '/backends/a/undrain')
  t.match(undrained, { status: 200, json: { name: 'a', state: 'up' } })
  t.same(await sent(2), ['a', 'a'], 'back in service')
  t.equal((await call('POST', '/backends/zz/drain')).json.code, 'backend_not_found')
})

t.test('only manage_models may use these routes', async (t) => {
  const user = rig.addKey({ role: 'user' }).headers
  const readonly = rig.addKey({ role: 'readonly' }).headers
  const routes: [Parameters<typeof call>[0], string, unknown?][] = [
    ['GET', '/backends'],
    ['POST', '/backends/a/drain'],
    ['POST', '/backends/a/undrain'],
    ['GET', '/models'],
    ['POST', '/models/pull', { model: 'x:1' }],
    ['POST', '/models/copy', { source: 'x:1', destination: 'y:1' }],
    ['DELETE', '/models/x:1'],
  ]
  for (const [method, path, body] of routes) {
    for (const headers of [user, readonly]) {
      const denied = await call(method, path, body, headers)
      t.match(denied, { status: 403, json: { code: 'permission_denied' } }, `${method} ${path}`)
      t.match(denied.headers['content-type'], 'application/problem+json')
    }
    t.equal((await call(method, path, body, {})).status, 401, `${method} ${path} without a credential`)
  }
  t.equal((await backendState('a')).state, 'up', 'no denied drain took effect')

  // An admin whose key is limited to some models sees and changes those only.
  const limited = rig.addKey({ role: 'admin', models: ['llama3.2:*'], username: 'boss' }).headers
  const listed = await call('GET', '/models', undefined, limited)
  t.same(
    listed.json.items.map((item: any) => item.model),
    ['llama3.2:3b'],
  )
  const refusals: [Parameters<typeof call>[0], string, unknown][] = [
    ['POST', '/models/pull', { model: 'qwen2.5:0.5b' }],
    ['POST', '/models/copy', { source: 'llama3.2:3b', destination: 'qwen2.5:mine' }],
    ['DELETE', '/models/qwen2.5:0.5b', undefined],
  ]
  for (const [method, path, body] of refusals) {
    t.match(await call(method, path, body, limited), { status: 403, json: { code: 'model_not_allowed' } }, path)
  }
})

t.test('bad inputs: a 4xx problem naming what was wrong, never a 500', async (t) => {
  const cases: [Parameters<typeof call>[0], string, unknown, number, RegExp][] = [
    ['POST', '/models/pull', {}, 400, /"model" is required/],
    ['POST', '/models/pull', { model: 42 }, 400, /"model" is required/],
    ['POST', '/models/pull', { model: 'a b' }, 400, /spaces or control characters/],
    ['POST', '/models/pull', { model: 'x'.repeat(601) }, 400, /longer than 600/],
    ['POST', '/models/pull', { model: 'x:1', backend: 'zz' }, 404, /no backend named "zz" \(configured: a, b\)/],
    ['POST', '/models/pull', { model: 'x:1', backend: 7 }, 400, /"backend" must be/],
    ['POST', '/models/pull', '[1]', 400, /must be a JSON object/],
    ['POST', '/models/pull', '{', 400, /not valid JSON/],
    ['POST', '/models/copy', { source: 'x:1' }, 400, /"destination" is required/],
    ['DELETE', '/models/x:1?backend=zz', undefined, 404, /no backend named "zz"/],
    ['DELETE', '/models/%E0%A4%A', undefined, 400, /percent-encoding/],
    ['GET', '/models?limit=0', undefined, 400, /"limit" must be a whole number from 1 to 500/],
    ['GET', '/backends?cursor=nope', undefined, 400, /"cursor" is not one this list gave/],
    ['POST', '/backends/%ZZ/drain', undefined, 400, /percent-encoding/],
  ]
  for (const [method, path, body, status, detail] of cases) {
    const answer = await call(method, path, body)
    t.match(answer, { status, json: { status, detail } }, `${method} ${path} ${JSON.stringify(body)}`)
    t.match(answer.headers['content-type'], 'application/problem+json')
  }
})

t.test(
  'generated bad inputs: always a 4xx problem with a code of the table, never a 500, nothing pulled',
  async (t) => {
    const before = JSON.stringify([...(await inventory()).keys()])
    /** Never a configured backend, so that no generated request really pulls, copies or deletes. */
    const notBackend = fc.anything().filter((value) => value !== undefined && value !== 'a' && value !== 'b')
    const refused = async (answer: Awaited<ReturnType<typeof call>>) => {
      const { status, json } = answer
      if (status < 400 || status >= 500) return false
      return String(answer.headers['content-type']).startsWith('application/problem+json') && json.code in errorTable
    }
    const runs = { numRuns: 60 }
    await fc.assert(
      fc.asyncProperty(
        fc.anything(),
        notBackend,
        fc.dictionary(fc.string(), fc.anything()),
        async (model, backend, more) => refused(await call('POST', '/models/pull', { ...more, model, backend })),
      ),
      runs,
    )
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (raw) => refused(await call('POST', '/models/pull', raw))),
      runs,
    )
    await fc.assert(
      fc.asyncProperty(fc.anything(), fc.anything(), notBackend, async (source, destination, backend) =>
        refused(await call('POST', '/models/copy', { source, destination, backend })),
      ),
      runs,
    )
    const segment = fc.oneof(
      fc.string({ unit: 'grapheme' }).map((text) => encodeURIComponent(text)),
      fc.stringMatching(/^[%0-9A-Fa-f:._-]{1,12}$/),
    )
    await fc.assert(
      fc.asyncProperty(segment, segment, async (model, backend) =>
        refused(await call('DELETE', `/models/${model}?backend=${backend === 'a' || backend === 'b' ? 'z' : backend}`)),
      ),
      runs,
    )
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom('drain', 'undrain'), async (name, action) =>
        name === 'a' || name === 'b' ? true : refused(await call('POST', `/backends/${name}/${action}`)),
      ),
      runs,
    )
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (limit, cursor) => {
        const query = `?limit=${encodeURIComponent(limit)}&cursor=${encodeURIComponent(cursor)}`
        const answer = await call('GET', `/models${query}`)
        return answer.status === 200 || (await refused(answer))
      }),
      runs,
    )
    t.equal(JSON.stringify([...(await inventory()).keys()]), before, 'no model came or went')
    t.same([(await backendState('a')).state, (await backendState('b')).state], ['up', 'up'])
  },
)
