// What an operator sees: /metrics after a scripted mix of requests (counts asserted), who may scrape it, /health and
// /ready (flipping when the backend goes away and back), /discovery, Server-Timing on every proxied reply, and a bug
// in a handler answered 500 without taking the process down.
import OpenAI from 'openai'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { startRig, type Rig } from '../helpers/gateway.js'

async function get(rig: Rig, path: string, headers: Record<string, string> = {}) {
  const response = await request(`${rig.url}${path}`, { headers })
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

async function generate(rig: Rig, headers: Record<string, string>, model = 'llama3.2:3b') {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model, prompt: 'hi', stream: false }),
  })
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() }
}

/** The value of one sample line of the exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('metrics count a scripted mix of requests, with bounded labels', async (t) => {
  const rig = await startRig(t, { metrics: { backend_check_interval: '100ms' } })
  for (let i = 0; i < 3; i++) t.equal((await generate(rig, rig.headers)).status, 200)
  const openai = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: rig.key, maxRetries: 0 })
  for await (const chunk of await openai.chat.completions.create({
    model: 'qwen2.5:0.5b',
    messages: [],
    stream: true,
  })) {
    void chunk
  }
  t.equal((await generate(rig, { authorization: 'Bearer plm_wrong' })).status, 401)
  const narrow = rig.addKey({ models: ['qwen2.5:0.5b'] })
  t.equal((await generate(rig, narrow.headers)).status, 403)
  const limited = rig.addKey({ username: 'limited' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: limited.id, gateway: '*', model: '', values: { rpm: 1 } })
  rig.gateway.authenticator.pollChanges()
  t.equal((await generate(rig, limited.headers)).status, 200)
  t.equal((await generate(rig, limited.headers)).status, 429)
  // Models no backend has (the health checks read the inventory): the gateway answers them itself.
  for (let i = 0; i < 3; i++) t.equal((await generate(rig, rig.headers, `made-up-${i}:1b`)).status, 404)

  const scrape = await get(rig, '/metrics')
  t.equal(scrape.status, 200, 'loopback may scrape without a credential (metrics.allow_from)')
  t.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = scrape.text
  const ok =
    'parallama_requests_total{api="ollama",route="generate",status_class="2xx",model="llama3.2:3b",backend="emulator"}'
  t.equal(sample(text, ok), 4, 'three by the admin, and the limited key’s first')
  t.equal(
    sample(
      text,
      'parallama_requests_total{api="openai",route="chat_completions",status_class="2xx",model="qwen2.5:0.5b",backend="emulator"}',
    ),
    1,
  )
  t.equal(sample(text, 'parallama_auth_failures_total{reason="invalid_api_key"}'), 1)
  t.equal(sample(text, 'parallama_errors_total{code="model_not_allowed"}'), 1)
  t.equal(sample(text, 'parallama_limit_rejections_total{code="rate_limit_exceeded",kind="rpm"}'), 1)
  t.equal(sample(text, 'parallama_completion_tokens_total{model="llama3.2:3b"}'), 4 * 32)
  t.equal(sample(text, 'parallama_completion_tokens_total{model="qwen2.5:0.5b"}'), 32, 'streamed usage counted too')
  t.equal(
    sample(text, 'parallama_gateway_overhead_seconds_count{api="ollama"}'),
    4,
    'every request that went upstream (the unknown models did not)',
  )
  t.equal(sample(text, 'parallama_errors_total{code="model_not_found"}'), 3)
  t.ok(text.includes('parallama_upstream_ttfb_seconds_bucket{api="ollama",backend="emulator",le="+Inf"}'))
  t.ok(text.includes('parallama_tokens_per_second_count{model="llama3.2:3b"}'))
  t.notMatch(text, /made-up-/, 'names of models that never answered are not labels')
  t.match(text, /model="other"/)
  t.equal(sample(text, 'parallama_backend_up{backend="emulator"}'), 1)
  t.equal(sample(text, 'parallama_in_flight{kind="requests"}'), 0)
  t.ok((sample(text, 'parallama_key_cache_lookups_total{result="hit"}') ?? 0) > 0)
  t.ok((sample(text, 'process_memory_bytes{kind="rss"}') ?? 0) > 1e6)
  t.match(text, /parallama_event_loop_lag_max_seconds /)
  t.notMatch(text, /key_id|user_id/, 'no user or key ids unless metrics.key_labels')
})

t.test('who may scrape: allow-listed addresses, else view_metrics', async (t) => {
  const rig = await startRig(t, { metrics: { allow_from: '10.0.0.0/8' } })
  t.equal((await get(rig, '/metrics')).status, 401, 'not allow-listed, no credential')
  t.equal((await get(rig, '/metrics', rig.addKey().headers)).status, 403, 'a user lacks view_metrics')
  t.equal((await get(rig, '/metrics', rig.headers)).status, 200, 'an admin has it')
  const off = await startRig(t, { metrics: { enabled: false } })
  t.equal((await get(off, '/metrics', off.headers)).status, 404)
})

t.test('/health, /ready that flips with the backend, /discovery', async (t) => {
  const emulator = await startEmulator()
  const port = Number(new URL(emulator.url).port)
  const rig = await startRig(t, {
    backends: [{ url: emulator.url, name: 'gpu1' }],
    metrics: { backend_check_interval: '100ms' },
  })
  t.match(await get(rig, '/health'), { status: 200, text: /"status":"ok"/ })
  const waitFor = async (status: number) => {
    const deadline = Date.now() + 3000
    let last = await get(rig, '/ready')
    while (last.status !== status && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      last = await get(rig, '/ready')
    }
    return last
  }
  t.match(await waitFor(200), { status: 200, text: /"ready":true/ })
  await emulator.close()
  const down = await waitFor(503)
  t.equal(down.status, 503, '/ready says not ready once the backend stops answering')
  t.match(down.text, /no backend answered \/api\/version recently \(gpu1: /)
  const back = await startEmulator({ port })
  t.teardown(() => back.close())
  t.match(await waitFor(200), { status: 200 }, 'and ready again when it returns')

  const narrow = rig.addKey({ models: ['qwen2.5:*'] })
  const discovery = await get(rig, '/discovery', narrow.headers)
  t.equal(discovery.status, 200)
  t.match(JSON.parse(discovery.text), {
    apis: { ollama: { enabled: true }, openai: { enabled: true, mounts: ['/v1', '/openai/v1'] } },
    backends: [{ name: 'gpu1', up: true }],
    models: ['qwen2.5:0.5b'],
  })
  t.equal((await get(rig, '/discovery')).status, 401)
})

t.test(
  'Server-Timing on whole and streamed replies; a bug in a handler is a 500, and the next request works',
  async (t) => {
    const rig = await startRig(t)
    const whole = await generate(rig, rig.headers)
    // An inference route passes the queue: its wait (0 here) comes first.
    const queue = 'queue;dur=[\\d.]+, '
    t.match(
      whole.headers['server-timing'],
      new RegExp(`^${queue}gateway;dur=[\\d.]+, upstream;dur=[\\d.]+, total;dur=[\\d.]+$`),
    )
    t.match(whole.headers['x-request-id'], /^[\w-]+$/)
    const streamed = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      headers: rig.headers,
      body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi' }),
    })
    await streamed.body.dump()
    t.match(
      streamed.headers['server-timing'],
      new RegExp(`^${queue}gateway;dur=[\\d.]+, upstream;dur=[\\d.]+$`),
      'a stream: before its end',
    )
    for (const [what, reply] of [
      ['a refused credential', await generate(rig, { authorization: 'Bearer nope' })],
      ['no such route', await get(rig, '/api/nothing')],
      ['a JSON API', await get(rig, '/health')],
    ] as const) {
      t.match(
        reply.headers['server-timing'],
        /^gateway;dur=[\d.]+, total;dur=[\d.]+$/,
        `${what}: the gateway's own answer`,
      )
      t.ok(reply.headers['x-request-id'], `${what}: X-Request-Id`)
    }

    const authenticator = rig.gateway.authenticator
    const original = authenticator.authenticate.bind(authenticator)
    authenticator.authenticate = () => {
      throw new Error('injected failure')
    }
    const failed = await generate(rig, rig.headers)
    t.equal(failed.status, 500)
    t.match(JSON.parse(failed.body), { code: 'internal_error' })
    const requestId = String(failed.headers['x-request-id'])
    const logged = rig.logs.find((line) => line.includes('request handler failed'))
    t.ok(logged?.includes(requestId) && logged.includes('injected failure') && logged.includes('"stack"'))
    const v1 = await request(`${rig.url}/v1/models`, { headers: rig.headers })
    t.equal(v1.statusCode, 500)
    t.match(await v1.body.json(), { error: { code: 'internal_error', type: 'api_error' } }, 'in the route’s dialect')
    authenticator.authenticate = original
    t.equal((await generate(rig, rig.headers)).status, 200, 'the process goes on')
    const metrics = await get(rig, '/metrics')
    t.equal(sample(metrics.text, 'parallama_errors_total{code="internal_error"}'), 2)
  },
)
