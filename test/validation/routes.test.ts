// Request validation by example, through the real gateway in front of the emulator (docs/validation.md): a refusal per
// dialect as clients see it (the ollama and openai npm clients included), the modes, a reload switching them live, and
// the large-body rule. Every refused request leaves the backend untouched.
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'
import { pluginModule } from '../helpers/pluginModules.js'

async function post(rig: Rig, path: string, body: unknown) {
  const response = await request(`${rig.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { ...rig.headers, 'content-type': 'application/json' },
  })
  return { status: response.statusCode, json: (await response.body.json()) as any, headers: response.headers }
}

const badRole = { model: 'llama3.2:3b', stream: false, messages: [{ role: 'bot', content: 'hi' }] }

t.test('each dialect names the bad field', async (t) => {
  const rig = await startRig(t)
  const before = rig.emulator.stats.requests

  const native = await post(rig, '/api/chat', badRole)
  t.equal(native.status, 400)
  t.equal(native.headers['x-parallama-error'], 'invalid_request')
  t.same(native.json, {
    error: 'invalid request: /messages/0/role must be one of "system", "user", "assistant", "tool" (got "bot")',
    code: 'invalid_request',
  })

  const generate = await post(rig, '/api/generate', { model: 'llama3.2:3b', keep_alive: '5 minutes' })
  t.match(generate.json.error, /^invalid request: \/keep_alive must be a number of seconds or a duration string/)
  const embed = await post(rig, '/api/embed', { model: 'llama3.2:3b', input: [1, 2] })
  t.equal(embed.json.error, 'invalid request: /input/0 must be a string (got 1)')
  const options = await post(rig, '/api/generate', { model: 'llama3.2:3b', options: { top_p: 1.5 } })
  t.equal(options.json.error, 'invalid request: /options/top_p must be at most 1 (got 1.5)')

  const openAi = await post(rig, '/v1/chat/completions', {
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }],
  })
  t.equal(openAi.status, 400)
  t.same(openAi.json.error, {
    message: 'invalid request: /messages/0/content/0/image_url/url is required',
    type: 'invalid_request_error',
    param: 'messages[0].content[0].image_url.url',
    code: 'invalid_request',
  })
  const missing = await post(rig, '/v1/embeddings', { model: 'llama3.2:3b' })
  t.same([missing.json.error.param, missing.json.error.message], ['input', 'invalid request: /input is required'])

  const anthropic = await post(rig, '/v1/messages', { model: 'llama3.2:3b', messages: [] })
  t.equal(anthropic.status, 400)
  t.same(anthropic.json, {
    type: 'error',
    error: { type: 'invalid_request_error', message: 'invalid request: /max_tokens is required' },
  })
  t.equal(rig.emulator.stats.requests, before, 'no refused request reached the backend')
})

t.test('the npm clients see the refusal as their own error type, and their valid calls pass', async (t) => {
  const rig = await startRig(t)
  const openai = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: rig.key, maxRetries: 0 })
  const refused = await openai.chat.completions
    .create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], temperature: 3 })
    .catch((error: unknown) => error)
  t.ok(refused instanceof OpenAI.BadRequestError, 'a BadRequestError')
  t.equal((refused as InstanceType<typeof OpenAI.BadRequestError>).param, 'temperature')
  t.match((refused as Error).message, /\/temperature must be at most 2 \(got 3\)/)
  const answer = await openai.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ],
    temperature: 0.2,
    stop: ['\n'],
    response_format: { type: 'json_object' },
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
  })
  t.ok(answer.choices.length > 0, 'a valid OpenAI call passes')

  const ollama = new Ollama({ host: rig.url, headers: rig.headers })
  const chat = await ollama.chat({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'hi', images: ['iVBORw0KGgo='] }],
    options: { temperature: 0.1, num_ctx: 2048, stop: ['x'] },
    keep_alive: '10m',
    format: 'json',
  })
  t.ok(chat.message, 'a valid ollama call passes')
  const wrong = await ollama
    .chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], options: { temperature: -1 } })
    .catch((error: Error) => error)
  t.match((wrong as Error).message, /\/options\/temperature must be at least 0/)
})

t.test('basic checks top-level types only; off nothing beyond the fields the gateway reads', async (t) => {
  const rig = await startRig(t, { validation: { ollama: 'basic', openai: 'off' } })
  const passed = await post(rig, '/api/chat', badRole)
  t.equal(passed.status, 200, 'basic: a bad role passes')
  const refused = await post(rig, '/api/chat', { model: 'llama3.2:3b', messages: 'hi' })
  t.equal(refused.json.error, 'invalid request: /messages must be an array (got "hi")', 'basic: a top-level type')
  const off = await post(rig, '/v1/chat/completions', {
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'hi' }],
    temperature: 3,
  })
  t.equal(off.status, 200, 'off: passes on to Ollama')
  const stillRead = await post(rig, '/v1/chat/completions', { model: 'llama3.2:3b', messages: [], max_tokens: 1.5 })
  t.equal(stillRead.status, 400, 'off: the fields the gateway reads are still checked')
  t.equal(stillRead.json.error.param, 'max_tokens')
})

t.test('a reload switches the mode live, and the large-body rule', async (t) => {
  const rig = await startRig(t, { validation: { full_parse_max_bytes: 2048 } })
  t.equal((await post(rig, '/api/chat', badRole)).status, 400)
  t.same(rig.gateway.reload({ ...rig.config, validation: { ...rig.config.validation, ollama: 'off' } }), [])
  t.equal((await post(rig, '/api/chat', badRole)).status, 200, 'off after the reload')
  rig.gateway.reload(rig.config)
  const large = { ...badRole, messages: [...badRole.messages, { role: 'user', content: 'x'.repeat(2048) }] }
  const answer = await post(rig, '/api/chat', large)
  t.equal(answer.status, 200, 'a body above full_parse_max_bytes is checked only on the fields the gateway reads')
  const largeBadModel = await post(rig, '/api/chat', { ...large, model: 42 })
  t.equal(largeBadModel.status, 400, '...which still refuse a bad model')
})

t.test('a plugin rewriting a body into one the schema refuses fails as the plugin, not the client', async (t) => {
  const probe = ((globalThis as { parallamaProbe?: { onRequest?: () => unknown } }).parallamaProbe ??= {})
  const rig = await startRig(t, { plugins: [{ module: pluginModule('probe') }] })
  t.teardown(() => {
    probe.onRequest = undefined
  })
  probe.onRequest = () => ({ rewrite: { body: JSON.stringify({ ...badRole, messages: [{ role: 'user' }] }) } })
  const valid = await post(rig, '/api/chat', { ...badRole, messages: [{ role: 'user', content: 'hi' }] })
  t.equal(valid.status, 200, 'a rewritten body the schema takes goes on')
  const before = rig.emulator.stats.requests
  probe.onRequest = () => ({ rewrite: { body: JSON.stringify(badRole) } })
  const refused = await post(rig, '/api/chat', { ...badRole, messages: [{ role: 'user', content: 'hi' }] })
  t.equal(refused.status, 500)
  t.equal(refused.headers['x-parallama-error'], 'plugin_error')
  t.ok(
    rig.logs.some((line) => line.includes('its rewritten body is refused') && line.includes('/messages/0/role')),
    'the log names what the schema refused',
  )
  t.equal(rig.emulator.stats.requests, before, 'it never reached the backend')
})

t.test('an invalid request reserves no tokens', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.limits.set({
    subjectType: 'default',
    subject: '',
    gateway: '*',
    model: '',
    values: { tpm: 100_000 },
  })
  rig.gateway.authenticator.pollChanges()
  const refused = await post(rig, '/api/chat', badRole)
  t.equal(refused.status, 400)
  t.equal(refused.headers['x-ratelimit-remaining-tokens'], '100000', 'the tokens left are all there')
})
