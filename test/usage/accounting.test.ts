// Usage rows: one per request, rejected ones included, with exact counts where Ollama reports them and an explicit
// estimate or "unknown" where it does not; hourly rollups; costs and cost headers; nothing lost at shutdown.
import Database from 'better-sqlite3'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function post(rig: Rig, path: string, body: unknown, headers: Record<string, string> = rig.headers) {
  const response = await request(`${rig.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers })
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

async function rows(rig: Rig): Promise<Record<string, any>[]> {
  await rig.gateway.accounting.recorder.drain()
  return rig.gateway.store.db.prepare('SELECT * FROM usage ORDER BY id').all() as Record<string, any>[]
}

t.test('each kind of request leaves the row it should', async (t) => {
  const rig = await startRig(t)
  const limited = rig.addKey({ models: ['qwen2.5:*'], username: 'lim' })
  const streamed = await post(
    rig,
    '/api/generate',
    { model: 'llama3.2:3b', prompt: 'one two three' },
    {
      ...rig.headers,
      'x-emulator-tokens': '9',
      'x-request-id': 'req-stream',
    },
  )
  const final = JSON.parse(streamed.text.trim().split('\n').at(-1)!)
  await post(rig, '/api/chat', { model: 'llama3.2:3b', messages: [{ role: 'user', content: 'a b' }], stream: false })
  await post(rig, '/api/embed', { model: 'nomic-embed-text', input: ['x y z'] })
  await post(rig, '/api/embeddings', { model: 'nomic-embed-text', prompt: 'x' })
  await request(`${rig.url}/api/tags`, { headers: rig.headers }).then((r) => r.body.dump())
  await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'x' }, {})
  await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'x' }, limited.headers)
  await post(rig, '/api/generate', { model: 'missing:1b', prompt: 'x' })
  await post(
    rig,
    '/api/generate',
    { model: 'llama3.2:3b', prompt: 'x' },
    { ...rig.headers, 'x-emulator-fault': 'reset_mid_stream', 'x-emulator-tokens': '10' },
  )

  const [stream, chat, embed, legacy, tags, anonymous, notAllowed, missing, cut] = await rows(rig)
  t.match(stream, {
    request_id: 'req-stream',
    username: 'admin',
    api: 'ollama',
    route: 'generate',
    model: 'llama3.2:3b',
    backend: 'emulator',
    status: 200,
    tokens: 'exact',
    prompt_tokens: final.prompt_eval_count,
    completion_tokens: final.eval_count,
    client_aborted: 0,
    client_ip: '127.0.0.1',
  })
  t.ok(stream!.bytes_out > 0 && stream!.bytes_in > 0 && stream!.ttfb_ms > 0 && stream!.duration_ms >= stream!.ttfb_ms)
  t.match(chat, { route: 'chat', tokens: 'exact', completion_tokens: 32 })
  t.match(embed, { route: 'embed', tokens: 'exact', prompt_tokens: 4, completion_tokens: 0 })
  t.match(legacy, { route: 'embeddings', tokens: 'unknown', prompt_tokens: null }, 'legacy embeddings report no counts')
  t.match(tags, { route: 'tags', tokens: 'none', model: null, status: 200 })
  t.match(anonymous, { status: 401, error_code: 'missing_credential', user_id: null, backend: null, tokens: 'none' })
  t.match(notAllowed, { status: 403, error_code: 'model_not_allowed', username: 'lim', model: 'llama3.2:3b' })
  t.match(missing, { status: 404, model: 'missing:1b', tokens: 'none', backend: 'emulator' })
  t.match(cut, {
    status: 200,
    error_code: 'upstream_unreachable',
    tokens: 'estimated',
    completion_tokens: 5,
    prompt_tokens: null,
  })
})

t.test('a client that leaves mid-stream: an estimated count, marked as aborted', async (t) => {
  const rig = await startRig(t)
  const controller = new AbortController()
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}/api/chat`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', messages: [] }),
    headers: { ...rig.headers, 'x-emulator-tokens': '1000', 'x-emulator-delay-ms': '5' },
    signal: controller.signal,
  })
  let seen = 0
  for await (const chunk of response.body) if ((seen += chunk.length) > 300) break
  controller.abort()
  await ended
  const [row] = await rows(rig)
  t.match(row, { client_aborted: 1, tokens: 'estimated' })
  t.ok(row!.completion_tokens > 0 && row!.completion_tokens < 1000)
})

t.test('hourly rollups add up to the rows', async (t) => {
  const rig = await startRig(t)
  const other = rig.addKey({ username: 'other' })
  for (let i = 0; i < 3; i++) await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'a', stream: false })
  await post(rig, '/api/generate', { model: 'qwen2.5:0.5b', prompt: 'a', stream: false }, other.headers)
  await post(rig, '/api/generate', { model: 'qwen2.5:0.5b', prompt: 'a' }, {})
  const all = await rows(rig)
  const hourly = rig.gateway.store.db.prepare('SELECT * FROM usage_hourly ORDER BY requests DESC').all() as any[]
  t.equal(hourly.length, 3, 'one rollup per user, key and model in the hour')
  t.match(hourly[0], { requests: 3, errors: 0, model: 'llama3.2:3b', completion_tokens: 96 })
  t.equal(
    hourly.reduce((sum, h) => sum + h.requests, 0),
    all.length,
  )
  t.equal(
    hourly.reduce((sum, h) => sum + h.prompt_tokens + h.completion_tokens, 0),
    all.reduce((s, r) => s + (r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0), 0),
  )
  t.match(
    hourly.find((h) => h.user_id === 0),
    { requests: 1, errors: 1, key_id: '' },
    'refused anonymous requests roll up under user 0',
  )
})

t.test('prices give each row its cost, and a whole reply says its tokens and cost in headers', async (t) => {
  const rig = await startRig(t, {
    usage: {
      default_prompt_price: 1,
      default_completion_price: 2,
      prices: [{ model: 'llama3.2:*', prompt: 100, completion: 200 }],
    },
  })
  const whole = await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'one two', stream: false })
  const body = JSON.parse(whole.text)
  t.equal(whole.headers['x-parallama-prompt-tokens'], String(body.prompt_eval_count))
  t.equal(whole.headers['x-parallama-completion-tokens'], String(body.eval_count))
  const expected = (body.prompt_eval_count * 100 + body.eval_count * 200) / 1e6
  t.equal(whole.headers['x-parallama-cost'], `${expected.toFixed(6)} USD`)
  const streamed = await post(rig, '/api/generate', { model: 'qwen2.5:0.5b', prompt: 'one two' })
  t.notOk(
    streamed.headers['x-parallama-cost'],
    'a stream sends its headers before the counts exist; its last line has them',
  )
  const [first, second] = await rows(rig)
  t.equal(first!.cost, expected)
  t.equal(second!.cost, (second!.prompt_tokens * 1 + second!.completion_tokens * 2) / 1e6, 'the default price')
})

t.test('batches: written early once flush_rows wait; closing writes everything left', async (t) => {
  const rig = await startRig(t, { usage: { flush_rows: 3, flush_interval: '1h' } })
  for (let i = 0; i < 7; i++)
    await request(`${rig.url}/api/version`, { headers: rig.headers }).then((r) => r.body.dump())
  await new Promise((resolve) => setImmediate(resolve))
  const { stats } = rig.gateway.accounting.recorder
  t.ok(stats.batches >= 2, `handed over in ${stats.batches} batches before the interval`)
  t.equal(rig.gateway.accounting.recorder.queued, 1, 'the 7th waits for the interval')
  await rig.gateway.close()
  const db = new Database(rig.config.database.path, { readonly: true })
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n, 7, 'nothing lost at shutdown')
  db.close()
})

t.test('the usage API: your own usage, or anyone’s with view_usage', async (t) => {
  const rig = await startRig(t)
  const ann = rig.addKey({ username: 'ann' })
  const ro = rig.addKey({ username: 'rita', role: 'readonly' })
  await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'a', stream: false }, ann.headers)
  await post(rig, '/api/generate', { model: 'llama3.2:3b', prompt: 'a', stream: false })
  const get = async (path: string, headers: Record<string, string>) => {
    const response = await request(`${rig.url}${path}`, { headers })
    return { status: response.statusCode, body: (await response.body.json()) as any }
  }
  const own = await get('/admin/v1/usage?by=user', ann.headers)
  t.match(own, { status: 200, body: { by: 'user', rows: [{ group: 'ann', requests: 1 }] } })
  t.equal(own.body.rows.length, 1, 'only their own')
  const all = await get('/admin/v1/usage?by=user', rig.headers)
  t.same(all.body.rows.map((row: { group: string }) => row.group).sort(), ['admin', 'ann'])
  t.match(await get('/admin/v1/usage?user=admin', ann.headers), { status: 403, body: { code: 'permission_denied' } })
  t.match(await get('/admin/v1/usage?user=ann&by=model', rig.headers), {
    body: { rows: [{ group: 'llama3.2:3b', requests: 1 }] },
  })
  const requests = await get('/admin/v1/usage/requests?limit=1', rig.headers)
  t.match(requests, { status: 200, body: { items: [{ route: 'generate', user: 'admin' }], next_cursor: String } })
  t.equal(requests.body.items.length, 1, 'newest first, one page')
  t.match(await get('/admin/v1/usage', ro.headers), { status: 200, body: { rows: [] } }, 'readonly sees its own, empty')
  t.match(await get('/admin/v1/usage?by=week', rig.headers), { status: 400, body: { detail: /"by" must be one of/ } })
  t.match(await get('/admin/v1/usage/requests?limit=0', rig.headers), { status: 400 })
  t.match(await get('/admin/v1/usage?since=whenever', rig.headers), { status: 400, body: { detail: /"since"/ } })
})

t.test('a database busy with another writer: rows wait and are written once it is free; nothing is lost', async (t) => {
  const rig = await startRig(t, { database: { busy_timeout: '50ms' }, usage: { flush_interval: '1h' } })
  const other = new Database(rig.config.database.path)
  other.pragma('busy_timeout = 50')
  other.exec('BEGIN IMMEDIATE')
  for (let i = 0; i < 5; i++)
    await request(`${rig.url}/api/version`, { headers: rig.headers }).then((r) => r.body.dump())
  const drained = rig.gateway.accounting.recorder.drain()
  const { stats } = rig.gateway.accounting.recorder
  for (let waited = 0; stats.failures === 0 && waited < 5000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(stats.failures >= 1, 'the writer was refused while the lock was held')
  other.exec('COMMIT')
  await drained
  t.equal((other.prepare('SELECT COUNT(*) AS n FROM usage').get() as { n: number }).n, 5, 'all five rows written after')
  other.close()
})
