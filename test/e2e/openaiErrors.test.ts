// Every error a /v1 client can meet arrives in OpenAI's shape — gateway-made ones included — and the official client
// raises the class it documents for it: 401 invalid_api_key, 403, 404 model_not_found, 413, 429 (rate_limit_exceeded,
// insufficient_quota), 502/503/504 api_error, and a stream that fails mid-way.
import OpenAI from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

function client(rig: Rig, key = rig.key, headers: Record<string, string> = {}): OpenAI {
  return new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: key, maxRetries: 0, defaultHeaders: headers })
}

const chat = (model = 'llama3.2:3b') => ({ model, messages: [{ role: 'user' as const, content: 'hi' }] })

/** The error a call raised (fails the test if it did not). */
async function failure(t: { fail(message: string): void }, call: () => Promise<unknown>): Promise<any> {
  try {
    await call()
  } catch (error) {
    return error
  }
  t.fail('expected the call to fail')
  return {}
}

t.test('credentials, models and routes: 401, 403, 404 in OpenAI’s shape', async (t) => {
  const rig = await startRig(t)
  const bad = await failure(t, () => client(rig, 'plm_nope').chat.completions.create(chat()))
  t.ok(bad instanceof OpenAI.AuthenticationError)
  t.match(bad, { status: 401, code: 'invalid_api_key', type: 'authentication_error' })
  t.equal(bad.headers.get('x-parallama-error'), 'invalid_api_key')

  const missing = await request(`${rig.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat()) })
  t.equal(missing.statusCode, 401)
  t.match(await missing.body.json(), {
    error: { code: 'invalid_api_key', type: 'authentication_error', param: null, message: /API key or access token/ },
  })
  t.equal(missing.headers['x-parallama-error'], 'missing_credential', 'the stable code rides in a header')

  const { key } = rig.addKey({ models: ['llama3.2:3b'] })
  const forbidden = await failure(t, () => client(rig, key).chat.completions.create(chat('qwen2.5:0.5b')))
  t.ok(forbidden instanceof OpenAI.PermissionDeniedError)
  t.match(forbidden, { status: 403, code: 'model_not_allowed', type: 'permission_error' })

  const unknown = await failure(t, () => client(rig).chat.completions.create(chat('nope:1b')))
  t.ok(unknown instanceof OpenAI.NotFoundError)
  t.match(unknown, { status: 404, code: 'model_not_found', message: /model "nope:1b" not found/ })
  const unknownModel = await failure(t, () => client(rig).models.retrieve('nope:1b'))
  t.match(unknownModel, { status: 404, code: 'model_not_found' })

  const noName = await request(`${rig.url}/v1/models/`, { headers: rig.headers })
  t.equal(noName.statusCode, 400)
  t.match(await noName.body.json(), { error: { code: 'invalid_request', message: /name a model/ } })
  const badEscape = await request(`${rig.url}/v1/models/%E0%A4%A`, { headers: rig.headers })
  t.equal(badEscape.statusCode, 400)
  t.match(await badEscape.body.json(), {
    error: { code: 'invalid_request', message: /invalid model name in the path/ },
  })
  const noRoute = await request(`${rig.url}/openai/v1/nothing`, { headers: rig.headers })
  t.equal(noRoute.statusCode, 404)
  t.match(await noRoute.body.json(), { error: { code: 'not_found', type: 'invalid_request_error' } })
  const wrongMethod = await request(`${rig.url}/v1/chat/completions`, { headers: rig.headers })
  t.equal(wrongMethod.statusCode, 405)
  t.equal(wrongMethod.headers.allow, 'POST')
  t.match(await wrongMethod.body.json(), { error: { code: 'method_not_allowed' } })
  const notJson = await request(`${rig.url}/v1/chat/completions`, {
    method: 'POST',
    headers: rig.headers,
    body: '{"model":',
  })
  t.equal(notJson.statusCode, 400)
  t.match(await notJson.body.json(), { error: { code: 'invalid_json', type: 'invalid_request_error' } })
  const noModel = await failure(t, () =>
    client(rig).chat.completions.create({ messages: [] } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming),
  )
  t.match(noModel, { status: 400, code: 'invalid_request', message: /must provide a model/ })
})

t.test('413 and 429: body cap, rate limit and quota', async (t) => {
  const rig = await startRig(t, { limits: { max_body_bytes: '4 KiB' } })
  const big = await failure(t, () =>
    client(rig).chat.completions.create({ ...chat(), messages: [{ role: 'user', content: 'x'.repeat(8000) }] }),
  )
  t.match(big, { status: 413, code: 'body_too_large', type: 'invalid_request_error' })

  const limited = rig.addKey({ username: 'limited' })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: limited.id,
    gateway: 'openai',
    model: '',
    values: { rpm: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const first = await client(rig, limited.key).chat.completions.create(chat()).withResponse()
  t.equal(first.response.headers.get('x-ratelimit-limit-requests'), '1')
  t.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '0')
  const refused = await failure(t, () => client(rig, limited.key).chat.completions.create(chat()))
  t.ok(refused instanceof OpenAI.RateLimitError)
  t.match(refused, {
    status: 429,
    code: 'rate_limit_exceeded',
    type: 'rate_limit_error',
    message: /1 requests per minute/,
  })
  t.ok(Number(refused.headers.get('retry-after')) >= 1)
  t.equal((await client(rig).chat.completions.create(chat())).object, 'chat.completion', 'the native-only limit…')

  const quota = rig.addKey({ username: 'quota' })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: quota.id,
    gateway: '*',
    model: '',
    values: { daily_requests: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  await client(rig, quota.key).chat.completions.create(chat())
  const spent = await failure(t, () => client(rig, quota.key).chat.completions.create(chat()))
  t.match(spent, { status: 429, code: 'insufficient_quota', type: 'insufficient_quota', message: /1 requests per day/ })
})

t.test('backend failures: 502, 503, 504 as api_error; a stream failing mid-way raises in the client', async (t) => {
  const rig = await startRig(t, { timeouts: { first_byte: '300ms' } })
  const fault = (name: string) => client(rig, rig.key, { 'x-emulator-fault': name })
  const busy = await failure(t, () => fault('busy').chat.completions.create(chat()))
  t.ok(busy instanceof OpenAI.InternalServerError)
  t.match(busy, { status: 503, type: 'api_error', message: /server busy/ })
  t.equal(busy.headers.get('retry-after'), '1', 'clients that back off find a Retry-After')
  const stalled = await failure(t, () => fault('stall').chat.completions.create(chat()))
  t.match(stalled, { status: 504, code: 'upstream_timeout', type: 'api_error' })

  const midway = await failure(t, async () => {
    for await (const chunk of await fault('error_mid_stream').chat.completions.create({ ...chat(), stream: true })) {
      void chunk
    }
  })
  t.ok(midway instanceof OpenAI.APIError)
  t.match(midway.message, /emulated failure/)
  const ended = rig.nextEnd()
  const cut = await failure(t, async () => {
    for await (const chunk of await fault('reset_mid_stream').chat.completions.create({ ...chat(), stream: true })) {
      void chunk
    }
  })
  t.ok(cut instanceof OpenAI.APIError, 'the gateway ends the stream with an error event, not [DONE]')
  const recorded = await ended
  t.match(cut.error, { code: recorded.errorCode, type: 'api_error', message: /backend emulator/ })
  t.match(recorded, { errorCode: /^upstream_/, route: 'chat_completions' })

  const dead = await startRig(t, { backends: [{ url: 'http://127.0.0.1:9', name: 'dead' }] })
  const unreachable = await failure(t, () => client(dead).chat.completions.create(chat()))
  t.match(unreachable, { status: 502, code: 'upstream_unreachable', type: 'api_error' })
})

t.test('a client that aborts mid-stream aborts the upstream request; what streamed is recorded', async (t) => {
  const rig = await startRig(t)
  const controller = new AbortController()
  const ended = rig.nextEnd()
  const stream = await client(rig, rig.key, {
    'x-emulator-tokens': '200',
    'x-emulator-delay-ms': '10',
  }).chat.completions.create({ ...chat(), stream: true }, { signal: controller.signal })
  let seen = 0
  // The SDK ends the iteration quietly when its own signal aborts it.
  for await (const chunk of stream) {
    void chunk
    if (++seen === 3) controller.abort()
  }
  // Events already read in the same network chunk as the third may still come out of the SDK's buffer.
  t.ok(seen >= 3 && seen < 200, `the stream stopped early (${seen} of 200 chunks)`)
  const result = await ended
  t.match(result, { clientAborted: true, route: 'chat_completions' })
  const deadline = Date.now() + 2000
  while (rig.emulator.stats.aborted === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  t.equal(rig.emulator.stats.aborted, 1, 'the emulator saw its request closed')
})
