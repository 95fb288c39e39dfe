// The exact attacks of the review (issue 11, findings 1, 2, 10 and 15) through the real gateway: each is refused with
// a coded 400/403 before anything reaches the backend, the refusal is recorded, and no handler fails.
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function post(rig: Rig, path: string, body: string, headers: Record<string, string>) {
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}${path}`, { method: 'POST', body, headers })
  const text = await response.body.text()
  // The error message, whatever the dialect's shape.
  let message = text
  try {
    const parsed = JSON.parse(text)
    message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? text)
  } catch {
    // not JSON: the text itself
  }
  return { status: response.statusCode, code: response.headers['x-parallama-error'], text: message, ended: await ended }
}

t.test('a second spelling of a checked key is refused, never run as the other model', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ models: ['llama3.2:3b'] })
  const attacks: [string, string][] = [
    ['/api/generate', '{"model":"llama3.2:3b","Model":"qwen2.5:7b","prompt":"hi","stream":false}'],
    ['/api/show', '{"model":"llama3.2:3b","naMe":"qwen2.5:7b"}'],
    ['/v1/chat/completions', '{"model":"llama3.2:3b","mODEL":"qwen2.5:7b","messages":[]}'],
    ['/api/chat', '{"model":"llama3.2:3b","model":"qwen2.5:7b","messages":[]}'],
    [
      '/v1/chat/completions',
      '{"model":"llama3.2:3b","stream":true,"stream_options":{"include_usage":true,"Include_Usage":false}}',
    ],
    ['/v1/chat/completions', '{"model":"llama3.2:3b","stream":false,"ſtream":true,"messages":[]}'],
  ]
  for (const [path, body] of attacks) {
    const refused = await post(rig, path, body, headers)
    t.equal(refused.status, 400, `${path} ${body}`)
    t.equal(refused.code, 'invalid_request')
    t.match(refused.text, /is read by Ollama as|given more than once/)
    t.match(refused.ended, { errorCode: 'invalid_request', backend: null, status: 400 })
  }
  t.equal(rig.emulator.stats.requests, 0, 'nothing reached the backend')
})

t.test('token limits that would break a quota are refused; the quota holds', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'quota', models: ['llama3.2:3b'] })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: id,
    gateway: '*',
    model: '',
    values: { daily_tokens: 340 },
  })
  rig.gateway.authenticator.pollChanges()
  for (let round = 0; round < 5; round++) {
    for (const limit of ['1e300', '1e999', '1.5', '-5', '99999999999']) {
      const body = `{"model":"llama3.2:3b","prompt":"hi","stream":false,"options":{"num_predict":${limit}}}`
      const refused = await post(rig, '/api/generate', body, headers)
      t.equal(refused.status, 400, body)
      t.match(refused.text, /"options.num_predict" must be an integer from -2 to 2147483647/)
      const v1 = `{"model":"llama3.2:3b","messages":[],"max_tokens":${limit}}`
      t.equal((await post(rig, '/v1/chat/completions', v1, headers)).status, 400, v1)
    }
  }
  let served = 0
  let used = 0
  const body = '{"model":"llama3.2:3b","prompt":"hi","stream":false,"options":{"num_predict":50}}'
  for (let i = 0; i < 40; i++) {
    const answer = await post(rig, '/api/generate', body, headers)
    if (answer.status === 200) {
      served++
      const reply = JSON.parse(answer.text)
      used += reply.prompt_eval_count + reply.eval_count
    } else t.equal(answer.code, 'quota_exceeded')
  }
  const estimate = 50 + Math.ceil(body.length / 4)
  t.ok(served > 0 && served < 40, `${served} of 40 requests served`)
  t.ok(used <= 340 + estimate, `${used} tokens used of a 340-token quota (+ at most one estimate, ${estimate})`)
})

t.test('bounds: a 900 KB model name and 100k-deep JSON are 400s, not 500s', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey()
  const long = await post(rig, '/api/generate', `{"model":"${'m'.repeat(900 * 1024)}","prompt":"hi"}`, headers)
  t.equal(long.status, 400)
  t.match(long.text, /"model" is too long/)
  t.equal(long.ended.model, null, 'the name is not recorded')
  const deep = (depth: number) => `{"model":"llama3.2:3b","x":${'['.repeat(depth)}${']'.repeat(depth)}}`
  for (const path of ['/api/chat', '/v1/chat/completions', '/v1/responses']) {
    const refused = await post(rig, path, deep(100_000).replace('}', ',"stream":true}'), headers)
    t.equal(refused.status, 400, path)
    t.equal(refused.code, 'invalid_json')
    t.match(refused.text, /nested deeper than 10000 levels/)
  }
  t.notOk(
    rig.logs.some((line) => line.includes('request handler failed')),
    'no handler failed',
  )
  t.equal(rig.emulator.stats.requests, 0)
})

t.test('/api/create checks every model it names: model, from, the Modelfile’s FROM', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ role: 'admin', models: ['llama3.2:3b', 'mine:*'] })
  const cases: [string, RegExp][] = [
    ['{"model":"mine:1","from":"qwen2.5:7b"}', /may not use model "qwen2.5:7b:latest"|may not use model "qwen2.5:7b"/],
    ['{"model":"mine:1","modelfile":"FROM qwen2.5:7b\\nSYSTEM hi"}', /may not use model "qwen2.5:7b"/],
    ['{"model":"mine:1","modelfile":"# base\\n  from \\"qwen2.5:7b\\""}', /may not use model "qwen2.5:7b"/],
    ['{"model":"qwen2.5:7b","from":"llama3.2:3b"}', /may not use model "qwen2.5:7b"/],
    ['{"name":"mine:1","From":"qwen2.5:7b"}', /is read by Ollama as "from"/],
  ]
  for (const [body, message] of cases) {
    const refused = await post(rig, '/api/create', body, headers)
    t.ok(refused.status === 403 || refused.status === 400, body)
    t.match(refused.text, message, body)
  }
  t.equal(rig.emulator.stats.requests, 0, 'nothing reached the backend')
  const copy = await post(rig, '/api/copy', '{"source":"qwen2.5:7b","destination":"mine:2"}', headers)
  t.equal(copy.status, 403, 'copy checks its source too')
})

t.test('/api/create from blobs, adapters or a remote host needs a credential allowed every model', async (t) => {
  const rig = await startRig(t)
  const restricted = rig.addKey({ role: 'admin', models: ['mine:*'] })
  const digest = `sha256:${'a'.repeat(64)}`
  const bodies = [
    `{"model":"mine:1","files":{"model.gguf":"${digest}"}}`,
    `{"model":"mine:1","adapters":{"lora.gguf":"${digest}"}}`,
    '{"model":"mine:1","remote_host":"http://127.0.0.1:9"}',
    `{"model":"mine:1","from":"mine:0","files":{},"adapters":null}`,
  ]
  for (const body of bodies) {
    const refused = await post(rig, '/api/create', body, restricted.headers)
    t.equal(refused.status, 403, body)
    t.equal(refused.code, 'model_not_allowed')
    t.match(refused.text, /names blobs or a host, not models/)
  }
  t.equal(rig.emulator.stats.requests, 0, 'nothing reached the backend')
  // Without an allow-list the same body goes on (the emulator answers create).
  const made = await post(rig, '/api/create', `{"model":"mine:1","files":{"model.gguf":"${digest}"}}`, rig.headers)
  t.not(made.status, 403)
  t.equal(rig.emulator.stats.requests, 1)
})
