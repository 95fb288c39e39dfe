// Aliases and allow-lists on the OpenAI API: a key lists only the models it may use (aliases included), and none of
// the bypasses seen in other gateways — an alias for a forbidden model, a model in the path, another spelling, a
// wildcard taken as a prefix — gets a forbidden model run. Also Ollama's /v1/responses and Anthropic-style /v1/messages.
import OpenAI from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

const aliases = [
  { alias: 'gpt-4o-mini', model: 'llama3.2:3b' },
  { alias: 'cheap', model: 'qwen2.5:0.5b' },
]

function client(rig: Rig, key = rig.key, mount = '/v1'): OpenAI {
  return new OpenAI({ baseURL: `${rig.url}${mount}`, apiKey: key, maxRetries: 0 })
}

async function status(call: () => Promise<unknown>): Promise<number | string> {
  try {
    await call()
    return 200
  } catch (error) {
    return (error as { status?: number }).status ?? String(error)
  }
}

t.test('aliases: the real model runs and is counted; the reply names the alias (configurable)', async (t) => {
  const rig = await startRig(t, { models: { aliases } })
  const openai = client(rig)
  const ended = rig.nextEnd()
  const reply = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  })
  t.equal(reply.model, 'gpt-4o-mini', 'the client sees the name it asked for')
  t.match(await ended, { model: 'llama3.2:3b', usage: { completionTokens: 32 } }, 'accounting sees the real model')
  const chunks = []
  for await (const chunk of await openai.chat.completions.create({
    model: 'GPT-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    max_tokens: 2,
  })) {
    chunks.push(chunk)
  }
  t.ok(
    chunks.every((chunk) => chunk.model === 'GPT-4o-mini'),
    'every streamed chunk too',
  )
  const listed = await openai.models.list()
  t.same(listed.data.map((model) => model.id).sort(), [
    'cheap',
    'gpt-4o-mini',
    'llama3.2:3b',
    'nomic-embed-text:latest',
    'qwen2.5:0.5b',
  ])
  t.match(await openai.models.retrieve('gpt-4o-mini'), { id: 'gpt-4o-mini', object: 'model' })
  const native = await request(`${rig.url}/api/chat`, {
    method: 'POST',
    headers: rig.headers,
    body: JSON.stringify({ model: 'cheap', messages: [], stream: false }),
  })
  t.match(
    await native.body.json(),
    { model: 'qwen2.5:0.5b' },
    'aliases work on the native API too (reply as Ollama wrote it)',
  )

  const plain = await startRig(t, { models: { aliases, answer_with_alias: false } })
  const direct = await client(plain).chat.completions.create({ model: 'gpt-4o-mini', messages: [] })
  t.equal(direct.model, 'llama3.2:3b', 'answer_with_alias: false shows the real model')
})

t.test('a key sees and uses only its models, however the request spells or routes it', async (t) => {
  const rig = await startRig(t, { models: { aliases } })
  const { key } = rig.addKey({ models: ['llama3.2:3b'] })
  for (const mount of ['/v1', '/openai/v1']) {
    const openai = client(rig, key, mount)
    t.same(
      (await openai.models.list()).data.map((model) => model.id).sort(),
      ['gpt-4o-mini', 'llama3.2:3b'],
      `${mount}: the allowed model and its alias, nothing else`,
    )
    const chat = (model: string) => () => openai.chat.completions.create({ model, messages: [] })
    t.equal(await status(chat('llama3.2:3b')), 200)
    t.not(await status(chat('LLAMA3.2:3B')), 403, 'another spelling of an allowed model is that model')
    t.equal(await status(chat('gpt-4o-mini')), 200, 'an alias of an allowed model')
    t.equal(await status(chat('cheap')), 403, 'an alias does not unlock its forbidden model')
    t.equal(await status(chat('registry.ollama.ai/library/qwen2.5:0.5b')), 403, 'nor does the registry spelling')
    t.equal(await status(() => openai.models.retrieve('qwen2.5:0.5b')), 403, 'a forbidden model in the path')
    t.equal(await status(() => openai.models.retrieve('cheap')), 403, 'an alias of one in the path')
    t.equal(await status(() => openai.embeddings.create({ model: 'nomic-embed-text', input: 'x' })), 403)
  }
  const native = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'cheap', prompt: 'x', stream: false }),
  })
  t.equal(native.statusCode, 403, 'the native API resolves aliases before its allow-list too')
  t.match(await native.body.json(), { code: 'model_not_allowed', error: /"cheap" \(qwen2\.5:0\.5b\)/ })
  const family = rig.addKey({ models: ['llama3:*'] })
  const openai = client(rig, family.key)
  t.equal(
    await status(() => openai.chat.completions.create({ model: 'llama3.2:3b', messages: [] })),
    403,
    'llama3:* is the llama3 family, not every name starting with llama3',
  )
  t.same((await openai.models.list()).data, [], 'and lists nothing the emulator has')
  const raw = await request(`${rig.url}/v1/models/qwen2.5%3A0.5b`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(raw.statusCode, 403, 'an encoded path is decoded before the check')
  t.match(await raw.body.json(), { error: { code: 'model_not_allowed', type: 'permission_error' } })
})

t.test('/v1/responses and /v1/messages: passed through with auth, usage and their own error shapes', async (t) => {
  const rig = await startRig(t, { models: { aliases } })
  const openai = client(rig)
  let ended = rig.nextEnd()
  const response = await openai.responses.create({ model: 'gpt-4o-mini', input: 'hello there', max_output_tokens: 4 })
  t.match(response, { object: 'response', model: 'gpt-4o-mini', usage: { input_tokens: 3, output_tokens: 4 } })
  t.match(await ended, { route: 'responses', model: 'llama3.2:3b', usage: { promptTokens: 3, completionTokens: 4 } })
  ended = rig.nextEnd()
  const events = []
  for await (const event of await openai.responses.create({
    model: 'llama3.2:3b',
    input: 'hello there',
    stream: true,
  })) {
    events.push(event.type)
  }
  t.equal(events[0], 'response.created')
  t.equal(events.at(-1), 'response.completed')
  t.match((await ended).usage, { promptTokens: 3, completionTokens: 32 })

  const messages = (body: unknown, headers: Record<string, string> = { 'x-api-key': rig.key }) =>
    request(`${rig.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01', ...headers },
      body: JSON.stringify(body),
    })
  ended = rig.nextEnd()
  const whole = await messages({ model: 'llama3.2:3b', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] })
  t.match(await whole.body.json(), { type: 'message', usage: { output_tokens: 3 } })
  t.match(await ended, { route: 'messages', usage: { completionTokens: 3 } })
  ended = rig.nextEnd()
  const streamed = await messages({ model: 'cheap', max_tokens: 5, stream: true, messages: [] })
  const text = await streamed.body.text()
  t.match(text, /^event: message_start\n/)
  t.match(text, /"model":"cheap"/, 'the stream names the alias')
  t.notMatch(text, /qwen2\.5/)
  t.match(await ended, { model: 'qwen2.5:0.5b', usage: { completionTokens: 5 } })
  const refused = await messages({ model: 'llama3.2:3b', max_tokens: 1, messages: [] }, { 'x-api-key': 'plm_nope' })
  t.equal(refused.statusCode, 401)
  t.match(await refused.body.json(), { type: 'error', error: { type: 'authentication_error' } })
  const unknown = await messages({ model: 'nope:1b', max_tokens: 1, messages: [] })
  t.equal(unknown.statusCode, 404)
  t.match(await unknown.body.json(), { type: 'error', error: { type: 'not_found_error' } })
})
