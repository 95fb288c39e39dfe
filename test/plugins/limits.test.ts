// Plugins come after the limits: a request a plugin answers or refuses still leaves its usage row and gives back every
// token it reserved (no backend ran), and a rewrite that changes the model is admitted again under the limits of the
// model that will run.
import t from 'tap'
import { request } from 'undici'
import type { PluginRequest, PluginResult, RequestAction } from '../../src/plugins/plugin.js'
import { pluginModule } from '../helpers/pluginModules.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const probe = ((globalThis as any).parallamaProbe ??= {}) as {
  onRequest?: (request: PluginRequest) => RequestAction | undefined
  onEnd?: (result: PluginResult) => void
}

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hello', stream: false })
/** What the request reserves: the default guess plus one token per 4 bytes of body. */
const estimate = (rig: Rig) => rig.config.limits.default_token_estimate + Math.ceil(Buffer.byteLength(body) / 4)

async function generate(rig: Rig, headers: Record<string, string>) {
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}/api/generate`, { method: 'POST', headers, body })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, result: await ended }
}

t.test('answered and refused requests free their reservation and leave a usage row', async (t) => {
  const rig = await startRig(t, { plugins: [{ module: pluginModule('probe') }] })
  t.teardown(() => delete probe.onRequest)
  const capacity = 100_000
  rig.gateway.store.limits.set({
    subjectType: 'default',
    subject: '',
    gateway: '*',
    model: '',
    values: { tpm: capacity },
  })
  rig.gateway.authenticator.pollChanges()
  const user = rig.addKey()
  const reserved = (reply: { headers: Record<string, unknown> }) =>
    capacity - Number(reply.headers['x-ratelimit-remaining-tokens'])

  probe.onRequest = () => ({ answer: { body: '{"cached":true}' } })
  const answered = await generate(rig, user.headers)
  t.equal(answered.status, 200)
  t.equal(reserved(answered), estimate(rig), 'the answer carries the limits headers of its admission')
  probe.onRequest = () => ({ refuse: { status: 429, code: 'too_soon', message: 'later' } })
  const refused = await generate(rig, user.headers)
  t.equal(refused.status, 429)
  t.equal(reserved(refused), estimate(rig), 'the answered one gave its tokens back (the bucket was full again)')
  probe.onRequest = undefined
  const proxied = await generate(rig, user.headers)
  t.equal(proxied.status, 200)
  t.equal(reserved(proxied), estimate(rig), 'and so did the refused one')

  await rig.gateway.accounting.recorder.drain()
  const rows = rig.gateway.store.db
    .prepare('SELECT request_id, status, error_code, backend, prompt_tokens FROM usage ORDER BY id')
    .all() as Record<string, unknown>[]
  t.match(rows.slice(-3), [
    { request_id: answered.result.requestId, status: 200, error_code: null, backend: null, prompt_tokens: null },
    { request_id: refused.result.requestId, status: 429, error_code: 'plugin_refused', backend: null },
    { request_id: proxied.result.requestId, status: 200, backend: 'emulator' },
  ])
})

t.test('a rewrite to another model is admitted under that model’s limits', async (t) => {
  const rig = await startRig(t, { plugins: [{ module: pluginModule('probe') }] })
  t.teardown(() => delete probe.onRequest)
  // One request a minute on qwen: the second rewrite onto it is refused by qwen's limit, not llama's.
  rig.gateway.store.limits.set({
    subjectType: 'default',
    subject: '',
    gateway: '*',
    model: 'qwen2.5:0.5b',
    values: { rpm: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const user = rig.addKey()
  const ends: PluginResult[] = []
  probe.onEnd = (result) => void ends.push(result)
  t.teardown(() => delete probe.onEnd)
  probe.onRequest = () => ({ rewrite: { model: 'qwen2.5:0.5b' } })
  const first = await generate(rig, user.headers)
  t.equal(first.status, 200)
  t.equal(first.result.model, 'qwen2.5:0.5b')
  const second = await generate(rig, user.headers)
  t.equal(second.status, 429, 'the model that would run is past its limit')
  t.equal(second.headers['x-parallama-error'], 'rate_limit_exceeded')
  t.match(
    ends.find((result) => result.requestId === second.result.requestId),
    { status: 429, errorCode: 'rate_limit_exceeded' },
    'onEnd hears of it too',
  )
  probe.onRequest = undefined
  t.equal((await generate(rig, user.headers)).status, 200, 'llama itself is not limited')
})

t.test('onEnd sees the requests refused before the plugins stage too', async (t) => {
  const rig = await startRig(t, { plugins: [{ module: pluginModule('probe') }] })
  const ends: PluginResult[] = []
  probe.onEnd = (result) => void ends.push(result)
  let asked = 0
  probe.onRequest = () => void asked++
  t.teardown(() => {
    delete probe.onEnd
    delete probe.onRequest
  })
  rig.gateway.store.limits.set({ subjectType: 'default', subject: '', gateway: '*', model: '', values: { rpm: 1 } })
  rig.gateway.authenticator.pollChanges()
  const user = rig.addKey()
  const anonymous = await generate(rig, {})
  const first = await generate(rig, user.headers)
  const limited = await generate(rig, user.headers)
  t.same([anonymous.status, first.status, limited.status], [401, 200, 429])
  t.equal(asked, 1, 'onRequest ran only for the admitted request')
  t.same(
    ends.map((end) => [end.requestId, end.status, end.errorCode ?? null]),
    [
      [anonymous.result.requestId, 401, anonymous.result.errorCode],
      [first.result.requestId, 200, null],
      [limited.result.requestId, 429, limited.result.errorCode],
    ],
    'every request, in order, with what the client got',
  )
})
