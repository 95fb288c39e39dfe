// The emulator's pull, copy and delete against Ollama's server/routes.go: its statuses and messages, the progress
// lines of a pull, a registry that lacks a name, and models that change in one emulator only.
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'

const one = await startEmulator({ registry: ['llama3.2:3b', 'tiny:1b'] })
const other = await startEmulator()
t.teardown(() => Promise.all([one.close(), other.close()]))

async function send(url: string, method: 'POST' | 'DELETE', path: string, body: unknown) {
  const response = await request(url + path, { method, body: JSON.stringify(body) })
  return { status: response.statusCode, text: await response.body.text() }
}

async function tags(url: string): Promise<Map<string, any>> {
  const { models } = (await (await request(url + '/api/tags')).body.json()) as { models: any[] }
  return new Map(models.map((model) => [model.name, model]))
}

t.test('a pull streams the manifest, each layer with digest, total, completed, the checks and success', async (t) => {
  const { status, text } = await send(one.url, 'POST', '/api/pull', { model: 'tiny:1b' })
  t.equal(status, 200)
  const lines = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.same(lines[0], { status: 'pulling manifest' })
  t.same(lines.slice(-3), [
    { status: 'verifying sha256 digest' },
    { status: 'writing manifest' },
    { status: 'success' },
  ])
  const layers = lines.filter((line) => line.digest)
  t.ok(layers.length >= 2)
  for (const line of layers) {
    t.match(line, {
      status: /^pulling [0-9a-f]{12}$/,
      digest: /^sha256:[0-9a-f]{64}$/,
      total: Number,
      completed: Number,
    })
    t.equal(line.status.slice(8), line.digest.slice(7, 19))
  }
  const pulled = (await tags(one.url)).get('tiny:1b')
  t.ok(pulled, 'listed after the pull')
  t.not(pulled.modified_at, (await tags(one.url)).get('llama3.2:3b').modified_at, 'modified when pulled')
  t.notOk((await tags(other.url)).has('tiny:1b'), 'the other emulator is unchanged')
})

t.test("a name the registry lacks: the manifest line, then Ollama's error line (stream:false: 500)", async (t) => {
  const streamed = await send(one.url, 'POST', '/api/pull', { model: 'nothere:1b' })
  t.equal(streamed.status, 200)
  t.same(
    streamed.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
    [{ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' }],
  )
  const whole = await send(one.url, 'POST', '/api/pull', { model: 'nothere:1b', stream: false })
  t.same(whole, { status: 500, text: JSON.stringify({ error: 'pull model manifest: file does not exist' }) })
  t.notOk((await tags(one.url)).has('nothere:1b'))
})

t.test("Ollama's refusals for bad names and missing models", async (t) => {
  const cases: [string, 'POST' | 'DELETE', unknown, number, string][] = [
    ['/api/pull', 'POST', { model: '' }, 400, 'invalid model name'],
    ['/api/pull', 'POST', { model: 'bad name' }, 400, 'invalid model name'],
    ['/api/copy', 'POST', { source: '', destination: 'x' }, 400, 'source "" is invalid'],
    ['/api/copy', 'POST', { source: 'llama3.2:3b', destination: 'a b' }, 400, 'destination "a b" is invalid'],
    ['/api/copy', 'POST', { source: 'nope', destination: 'x' }, 404, 'model "nope" not found'],
    ['/api/delete', 'DELETE', { model: '' }, 400, 'name "" is invalid'],
    ['/api/delete', 'DELETE', { model: 'nope' }, 404, "model 'nope' not found"],
  ]
  for (const [path, method, body, status, error] of cases) {
    t.same(await send(other.url, method, path, body), { status, text: JSON.stringify({ error }) }, JSON.stringify(body))
  }
})

t.test('copy keeps the digest under the new name; delete removes it; both answer an empty 200', async (t) => {
  t.same(await send(other.url, 'POST', '/api/copy', { source: 'llama3.2:3b', destination: 'team/llama' }), {
    status: 200,
    text: '',
  })
  const listed = await tags(other.url)
  t.equal(listed.get('team/llama:latest').digest, listed.get('llama3.2:3b').digest)
  t.same(await send(other.url, 'DELETE', '/api/delete', { name: 'team/llama' }), { status: 200, text: '' })
  t.notOk((await tags(other.url)).has('team/llama:latest'))
})
