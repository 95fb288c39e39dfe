// The emulator is the stand-in for Ollama in every test and benchmark, so its own framing is checked against the
// reference: NDJSON and stream:false on the native API, SSE with include_usage on /v1, errors in each shape.
import t, { type Test } from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await request(url, { method: 'POST', body: JSON.stringify(body), headers })
  return { status: response.statusCode, type: response.headers['content-type'], text: await response.body.text() }
}

function events(t: Test, text: string): string[] {
  t.ok(text.endsWith('\n\n'), 'SSE ends with a blank line')
  return text
    .trim()
    .split('\n\n')
    .map((event) => {
      t.match(event, /^data: /)
      return event.slice(6)
    })
}

t.test('native streaming: NDJSON, final object with metrics; stream:false: one JSON object', async (t) => {
  const emulator = await startEmulator({ knobs: { tokens: 4 } })
  t.teardown(() => emulator.close())
  const streamed = await post(`${emulator.url}/api/generate`, { model: 'llama3.2:3b', prompt: 'a b c' })
  t.equal(streamed.type, 'application/x-ndjson')
  const lines = streamed.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.equal(lines.length, 5)
  t.same(Object.keys(lines[0]), ['model', 'created_at', 'response', 'done'])
  t.match(lines[4], { done: true, done_reason: 'stop', prompt_eval_count: 4, eval_count: 4, context: Array })
  const whole = await post(`${emulator.url}/api/chat`, { model: 'llama3.2', messages: [], stream: false })
  t.equal(whole.status, 404, 'llama3.2 means llama3.2:latest, which is not there')
  const chat = await post(`${emulator.url}/api/chat`, {
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: '' }],
    stream: false,
  })
  const reply = JSON.parse(chat.text)
  t.equal(chat.type, 'application/json; charset=utf-8')
  t.equal(reply.message.content, 'The quick brown fox')
  t.notOk('prompt_eval_count' in reply, 'a zero count is omitted, as Go omitempty does')
  const limited = await post(`${emulator.url}/api/generate`, {
    model: 'llama3.2:3b',
    prompt: 'x',
    stream: false,
    options: { num_predict: 2 },
  })
  t.match(JSON.parse(limited.text), { done_reason: 'length', eval_count: 2 })
})

t.test('/v1 chat: SSE, [DONE], usage only with include_usage, in an extra choices:[] chunk', async (t) => {
  const emulator = await startEmulator({ knobs: { tokens: 3 } })
  t.teardown(() => emulator.close())
  const body = { model: 'llama3.2:3b', messages: [{ role: 'user', content: 'one two' }], stream: true }
  const plain = events(t, (await post(`${emulator.url}/v1/chat/completions`, body)).text)
  t.equal(plain.at(-1), '[DONE]')
  t.equal(plain.length, 5, '3 tokens, the finish chunk, [DONE]')
  t.notOk(
    plain.some((event) => event.includes('"usage"')),
    'no usage without include_usage',
  )
  t.equal(JSON.parse(plain[3]!).choices[0].finish_reason, 'stop')

  const withUsage = events(
    t,
    (await post(`${emulator.url}/v1/chat/completions`, { ...body, stream_options: { include_usage: true } })).text,
  )
  t.equal(withUsage.length, 6)
  t.match(JSON.parse(withUsage[4]!), {
    choices: [],
    usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
  })

  const completions = events(
    t,
    (
      await post(`${emulator.url}/v1/completions`, {
        model: 'llama3.2:3b',
        prompt: 'x',
        stream: true,
        stream_options: { include_usage: true },
      })
    ).text,
  )
  t.match(
    JSON.parse(completions[0]!),
    { object: 'text_completion', usage: { total_tokens: 0 } },
    'zero usage on each chunk',
  )
  t.match(JSON.parse(completions.at(-2)!), { choices: [], usage: { completion_tokens: 3 } })

  const whole = JSON.parse((await post(`${emulator.url}/v1/chat/completions`, { ...body, stream: false })).text)
  t.match(whole, {
    object: 'chat.completion',
    choices: [{ message: { content: 'The quick brown' } }],
    usage: { completion_tokens: 3 },
  })
})

t.test('/v1 models, embeddings and errors', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const models = await request(`${emulator.url}/v1/models`)
  t.match(await models.body.json(), {
    object: 'list',
    data: [{ id: 'llama3.2:3b', object: 'model', owned_by: 'library' }],
  })
  const one = await request(`${emulator.url}/v1/models/qwen2.5:0.5b`)
  t.match(await one.body.json(), { id: 'qwen2.5:0.5b' })
  const missing = await request(`${emulator.url}/v1/models/nope`)
  t.equal(missing.statusCode, 404)
  t.match(await missing.body.json(), { error: { type: 'not_found_error', message: /not found/ } })
  const embedded = await post(
    `${emulator.url}/v1/embeddings`,
    { model: 'nomic-embed-text', input: ['a', 'b c'] },
    { 'x-emulator-dimensions': '4' },
  )
  t.match(JSON.parse(embedded.text), {
    object: 'list',
    data: [{ index: 0 }, { index: 1 }],
    usage: { prompt_tokens: 5 },
  })
  t.equal(JSON.parse(embedded.text).data[0].embedding.length, 4)
  const bad = await request(`${emulator.url}/v1/chat/completions`, { method: 'POST', body: '{oops' })
  t.equal(bad.statusCode, 400)
  t.match(await bad.body.json(), { error: { type: 'invalid_request_error' } })
})
