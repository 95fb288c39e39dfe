// Whatever body a plugin's rewrite produces, the gateway decides on exactly what the backend receives: generated bodies
// (key casings, \u escapes, repeats, nulls, wrong types, forbidden models in decoys, junk) are returned by a plugin
// as its rewrite of an allowed request, through the real gateway to a raw backend that records the bytes it got.
// Either the request was refused with a coded error and nothing reached the backend, or the bytes received are the
// plugin's (with only the gateway's own edits, e.g. include_usage), the route's Go-equivalent reader reads them into
// models the key may use, the model recorded is the one they run, and every top-level key Go would match to `model`
// holds that model. Where Go is installed, the same rewrites go to the Go stand-in that decodes as Ollama does.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { compileAllowList, normalizeModel } from '../../src/auth/modelAllowList.js'
import { readOllamaBody } from '../../src/api/ollamaBody.js'
import { readOpenAiBody } from '../../src/api/openaiBody.js'
import { ModelAliases } from '../../src/models/aliases.js'
import { GatewayError } from '../../src/errors.js'
import type { RequestFields } from '../../src/api/requestFields.js'
import type { PluginRequest, RequestAction } from '../../src/plugins/plugin.js'
import { holds } from '../helpers/fuzz.js'
import { pluginModule } from '../helpers/pluginModules.js'
import { startRig } from '../helpers/gateway.js'
import { startRawBackend } from '../helpers/rawBackend.js'
import { checkGoReport, goMissing, startGoDecoder } from '../helpers/goDecoder.js'

const probe = ((globalThis as any).parallamaProbe ??= {}) as {
  onRequest?: (request: PluginRequest) => RequestAction | undefined
}

const noAliases = new ModelAliases([])
const routes: { path: string; read: (body: Buffer) => RequestFields | GatewayError; client: string }[] = [
  {
    path: '/api/generate',
    read: (body) => readOllamaBody(body, 'generate', noAliases),
    client: '{"model":"allowed-model","prompt":"hi","stream":false}',
  },
  {
    path: '/v1/chat/completions',
    read: (body) => readOpenAiBody(body, 'completions', noAliases),
    client: '{"model":"allowed-model","messages":[]}',
  },
]

/** A key's spelling as Go might also match it: a letter's case changed, a \u escape. */
function keyFor(name: string): fc.Arbitrary<string> {
  const mutated = fc
    .array(fc.constantFrom(0, 0, 0, 1, 2), { minLength: name.length, maxLength: name.length })
    .map((choices) =>
      choices
        .map((choice, index) => {
          const char = name[index]!
          if (choice === 1) return char.toUpperCase()
          if (choice === 2) return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
          return char
        })
        .join(''),
    )
  return fc
    .oneof({ arbitrary: fc.constant(name), weight: 3 }, { arbitrary: mutated, weight: 1 })
    .map((key) => `"${key}"`)
}
const models = fc.constantFrom(
  '"allowed-model"',
  '"Allowed-Model"',
  '"allowed-model:latest"',
  '"forbidden-model"',
  '"allowed\\u002dmodel"',
  '""',
  'null',
  '42',
  '"\\ud800"',
)
const values = fc.constantFrom('true', 'false', 'null', '"yes"', '100', '-1', '1e300', '1.5', '{}', '[]')
const fillers = fc.constantFrom(
  '"prompt":"hi"',
  '"messages":[{"role":"user","content":"\\"model\\":\\"forbidden-model\\""}]',
  '"x":{"model":"forbidden-model"}',
  '"options":{"num_predict":5}',
  '"stream_options":{"include_usage":false}',
)
const entry = fc.oneof(
  { arbitrary: fc.tuple(keyFor('model'), models).map(([key, value]) => `${key}:${value}`), weight: 4 },
  { arbitrary: fc.tuple(keyFor('stream'), values).map(([key, value]) => `${key}:${value}`), weight: 2 },
  { arbitrary: fc.tuple(keyFor('max_tokens'), values).map(([key, value]) => `${key}:${value}`), weight: 1 },
  { arbitrary: fillers, weight: 2 },
)
const plausible = fc
  .tuple(
    fc.constantFrom('"allowed-model"', '"allowed-model:latest"', '"forbidden-model"'),
    fc.array(entry, { maxLength: 3 }),
  )
  .map(([model, entries]) => `{${['"model":' + model, ...entries.filter((e) => !e.startsWith('"model"'))].join(',')}}`)
const rewrites = fc.oneof(
  { arbitrary: plausible, weight: 8 },
  { arbitrary: fc.array(entry, { maxLength: 5 }).map((entries) => `{${entries.join(',')}}`), weight: 8 },
  { arbitrary: fc.constantFrom('', 'null', '[]', '{', '{"model":"allowed-model"', '"x"', '{}'), weight: 1 },
)

/** Go matches a key to the field `model` case-insensitively (the fold runes do not occur in `model`). */
const goReadsAsModel = (key: string) => key.toLowerCase() === 'model'

t.test('a rewritten body is decided on exactly as the backend receives it', async (t) => {
  const backend = await startRawBackend()
  t.teardown(() => backend.close())
  const rig = await startRig(t, {
    backends: [{ url: backend.url, name: 'raw' }],
    plugins: [{ module: pluginModule('probe') }],
  })
  t.teardown(() => delete probe.onRequest)
  const { headers } = rig.addKey({ models: ['allowed-model'] })
  const allowed = compileAllowList(['allowed-model'])
  const outcomes = { refused: 0, forwarded: 0 }
  await holds(
    t,
    'the backend gets exactly the rewritten body the gateway decided on',
    fc.asyncProperty(fc.constantFrom(...routes), rewrites, async (route, rewrite) => {
      probe.onRequest = () => ({ rewrite: { body: rewrite } })
      const before = backend.requests
      const ended = rig.nextEnd()
      const response = await request(`${rig.url}${route.path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: route.client,
      })
      const text = await response.body.text()
      const result = await ended
      if (result.backend === null) {
        const code = response.headers['x-parallama-error']
        const coded = code === result.errorCode && (code === 'model_not_allowed' || code === 'plugin_error')
        if (!coded) throw new Error(`refusal without its code: ${response.statusCode} ${text} for ${rewrite}`)
        if (backend.requests !== before) throw new Error(`a refused rewrite reached the backend: ${rewrite}`)
        outcomes.refused++
        return
      }
      outcomes.forwarded++
      const received = backend.last!.body
      const decided = route.read(Buffer.from(rewrite))
      if (decided instanceof GatewayError) throw new Error(`forwarded a body the reader refuses: ${rewrite}`)
      const expected = decided.rewritten ?? Buffer.from(rewrite)
      if (!received.equals(expected)) {
        throw new Error(`the backend got ${received.toString()}, the gateway decided on ${expected.toString()}`)
      }
      for (const model of decided.models) {
        if (!allowed(model)) throw new Error(`"${model}" reached the backend: ${rewrite}`)
      }
      if (result.model !== normalizeModel(decided.models[0]!)) {
        throw new Error(`recorded ${result.model}, the body runs ${decided.models[0]}: ${rewrite}`)
      }
      // An independent look at the bytes: every top-level key Go would read as `model` names the recorded model.
      const parsed = JSON.parse(received.toString()) as Record<string, unknown>
      for (const [key, value] of Object.entries(parsed)) {
        if (
          goReadsAsModel(key) &&
          value !== null &&
          normalizeModel(JSON.stringify(value).slice(1, -1)) !== result.model
        ) {
          throw new Error(`key ${key} names ${JSON.stringify(value)}, recorded ${result.model}: ${rewrite}`)
        }
      }
    }),
    300,
    0.002,
  )
  t.comment(`refused: ${outcomes.refused}, forwarded: ${outcomes.forwarded}`)
  t.ok(outcomes.forwarded > 0 && outcomes.refused > 0, 'both outcomes occur')
})

const goAbsent = goMissing()
t.test(
  'a rewritten body runs, as Go decodes it, only models the key may use: the one recorded',
  { skip: goAbsent ? `the Go decoder stand-in needs Go: ${goAbsent}` : false },
  async (t) => {
    const standIn = await startGoDecoder(t)
    const rig = await startRig(t, {
      backends: [{ url: standIn, name: 'go' }],
      plugins: [{ module: pluginModule('probe') }],
    })
    t.teardown(() => delete probe.onRequest)
    const { headers } = rig.addKey({ models: ['allowed-model'] })
    const allowed = compileAllowList(['allowed-model'])
    const outcomes = { refused: 0, goRefused: 0, decoded: 0 }
    await holds(
      t,
      'Go decodes what the gateway decided on after a rewrite',
      fc.asyncProperty(fc.constantFrom(...routes), rewrites, async (route, rewrite) => {
        probe.onRequest = () => ({ rewrite: { body: rewrite } })
        const ended = rig.nextEnd()
        const response = await request(`${rig.url}${route.path}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: route.client,
        })
        const text = await response.body.text()
        const result = await ended
        if (result.backend === null) {
          if (response.headers['x-parallama-error'] !== result.errorCode) {
            throw new Error(`refusal without its code: ${response.statusCode} ${text} for ${rewrite}`)
          }
          outcomes.refused++
          return
        }
        checkGoReport(response.statusCode, text, result.model, allowed, rewrite, outcomes)
      }),
      300,
      0.002,
    )
    t.comment(`refused: ${outcomes.refused}, by Go: ${outcomes.goRefused}, decoded: ${outcomes.decoded}`)
    t.ok(outcomes.decoded > 0, 'some rewrites reach the backend and run')
  },
)
