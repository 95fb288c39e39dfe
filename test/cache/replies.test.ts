// The cache through the real gateway and the emulator: each route's reply stored once complete and replayed in the
// caller's framing (native NDJSON and whole JSON, OpenAI SSE with and without include_usage and whole JSON,
// embeddings of both APIs), the x-parallama-cache header, and a hit's usage row.
import t from 'tap'
import OpenAI from 'openai'
import { request } from 'undici'
import { ask, chatModel, startCacheRig } from '../helpers/cacheRig.js'

const embedModel = 'nomic-embed-text:latest'
const messages = [{ role: 'user', content: 'hello there' }]

t.test('native chat and generate, whole and streamed: stored once, replayed byte for byte', async (t) => {
  const rig = await startCacheRig(t)
  for (const [path, stream] of [
    ['/api/chat', false],
    ['/api/chat', true],
    ['/api/generate', false],
    ['/api/generate', true],
  ] as const) {
    const body =
      path === '/api/chat'
        ? { model: chatModel, messages, stream, options: { temperature: 0 } }
        : { model: chatModel, prompt: 'hi', stream, options: { seed: 7 } }
    const before = rig.emulator.stats.requests
    const first = await ask(rig, path, body)
    t.equal(first.cache, 'miss', `${path} stream=${stream}: the first is a miss`)
    const second = await ask(rig, path, body)
    t.equal(second.cache, 'hit', 'the second a hit')
    t.equal(rig.emulator.stats.requests, before + 1, 'only the miss reached the backend')
    t.equal(second.text, first.text, 'the same bytes')
    t.equal(second.headers['content-type'], first.headers['content-type'])
    t.equal(second.result.backend, null)
    t.match(second.headers['server-timing'], /^cache;desc="hit", gateway;dur=[0-9.]+$/)
    t.same(second.result.usage?.completionTokens, first.result.usage?.completionTokens, 'the counts of the original')
    if (stream) t.ok(second.text.trim().split('\n').length > 2, 'replayed line by line')
  }
})

t.test('OpenAI chat: whole and streamed, in the caller’s framing, with a fresh id and created', async (t) => {
  const rig = await startCacheRig(t)
  const body = { model: chatModel, messages, temperature: 0 }
  const first = await ask(rig, '/v1/chat/completions', body)
  const second = await ask(rig, '/v1/chat/completions', body)
  t.equal(first.cache, 'miss')
  t.equal(second.cache, 'hit')
  const [a, b] = [JSON.parse(first.text), JSON.parse(second.text)]
  t.not(b.id, a.id, 'a replay is a new reply: its own id')
  t.match(b.id, /^chatcmpl-[0-9a-f]{24}$/)
  t.ok(b.created >= a.created, 'created is the replay’s time')
  t.same({ ...b, id: a.id, created: a.created }, a, 'everything else as stored')

  const streamed = { ...body, stream: true }
  const plain = await ask(rig, '/v1/chat/completions', streamed)
  t.equal(plain.cache, 'miss', 'streamed and whole replies are separate entries')
  t.notMatch(plain.text, /"usage"/, 'no usage chunk: the client did not ask')
  const withUsage = await ask(rig, '/v1/chat/completions', { ...streamed, stream_options: { include_usage: true } })
  t.equal(withUsage.cache, 'hit', 'include_usage is framing: the same entry')
  t.match(withUsage.text, /"usage":\{"prompt_tokens"/, 'the usage chunk for the client that asked')
  const again = await ask(rig, '/v1/chat/completions', streamed)
  t.equal(again.cache, 'hit')
  t.notMatch(again.text, /"usage"/, 'and none for one that did not')
  const events = (text: string) => text.split('\n\n').filter((event) => event.startsWith('data: '))
  t.equal(events(again.text).length, events(plain.text).length, 'event by event')
  t.ok(again.text.trimEnd().endsWith('data: [DONE]'))
  const ids = new Set(
    events(again.text)
      .slice(0, -1)
      .map((event) => JSON.parse(event.slice(6)).id),
  )
  t.equal(ids.size, 1, 'one id across the replay’s chunks')
  t.notOk(ids.has(JSON.parse(events(plain.text)[0]!.slice(6)).id), 'not the stored one')

  // The real client reads a replayed stream as any other.
  const client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: rig.key })
  let text = ''
  const stream = await client.chat.completions.create({
    model: chatModel,
    messages: [{ role: 'user', content: 'hello there' }],
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  })
  let usage: unknown
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? ''
    usage ??= chunk.usage ?? undefined
  }
  t.ok(text.length > 0, 'the openai client gets the content')
  t.match(usage, { completion_tokens: Number }, 'and the usage it asked for')
  t.equal(rig.ended.at(-1)!.cache?.outcome, 'hit')
})

t.test('embeddings are cached without temperature or seed, on both APIs', async (t) => {
  const rig = await startCacheRig(t)
  for (const [path, body] of [
    ['/api/embed', { model: embedModel, input: ['a', 'b'] }],
    ['/v1/embeddings', { model: embedModel, input: 'a' }],
  ] as const) {
    const first = await ask(rig, path, body)
    const second = await ask(rig, path, body)
    t.equal(first.cache, 'miss', path)
    t.equal(second.cache, 'hit', path)
    t.equal(second.text, first.text)
  }
})

t.test('what is not cached says bypass; Cache-Control no-cache and no-store are honoured', async (t) => {
  const rig = await startCacheRig(t)
  const sampled = { model: chatModel, messages, stream: false }
  const once = await ask(rig, '/api/chat', sampled)
  const twice = await ask(rig, '/api/chat', sampled)
  t.equal(once.cache, 'bypass', 'a sampled request is not cached by default')
  t.equal(twice.cache, 'bypass')
  t.equal(twice.result.cache?.outcome, 'bypass')

  const body = { model: chatModel, messages, stream: false, options: { temperature: 0 } }
  const noStore = { ...rig.headers, 'cache-control': 'no-store' }
  t.equal((await ask(rig, '/api/chat', body, noStore)).cache, 'bypass', 'no-store: not read')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss', 'and not stored')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit')
  const noCache = { ...rig.headers, 'cache-control': 'No-Cache' }
  const before = rig.emulator.stats.requests
  t.equal((await ask(rig, '/api/chat', body, noCache)).cache, 'miss', 'no-cache: a fresh reply')
  t.equal(rig.emulator.stats.requests, before + 1)
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit', 'which is stored')
  const tags = await request(`${rig.url}/api/tags`, { headers: rig.headers })
  await tags.body.text()
  t.equal(tags.headers['x-parallama-cache'], undefined, 'routes the cache does not serve: no header')
})

t.test('a hit’s usage row: cache hit, the original counts, no cost, no backend', async (t) => {
  const rig = await startCacheRig(t, {}, { usage: { prices: [{ model: chatModel, prompt: 1000, completion: 2000 }] } })
  const body = { model: chatModel, messages, stream: false, options: { temperature: 0 } }
  const miss = await ask(rig, '/api/chat', body)
  const hit = await ask(rig, '/api/chat', body)
  await rig.gateway.accounting.recorder.drain()
  const rows = rig.gateway.store.db
    .prepare('SELECT request_id, cache, backend, prompt_tokens, completion_tokens, tokens, cost FROM usage ORDER BY id')
    .all() as Record<string, unknown>[]
  const of = (id: string) => rows.find((row) => row.request_id === id)!
  t.match(of(miss.result.requestId), { cache: 'miss', backend: 'emulator', tokens: 'exact' })
  t.ok((of(miss.result.requestId).cost as number) > 0, 'the miss costs')
  t.match(of(hit.result.requestId), {
    cache: 'hit',
    backend: null,
    tokens: 'exact',
    prompt_tokens: of(miss.result.requestId).prompt_tokens,
    completion_tokens: of(miss.result.requestId).completion_tokens,
    cost: 0,
  })
  const hourly = rig.gateway.store.db
    .prepare('SELECT SUM(requests) AS requests, SUM(completion_tokens) AS completion FROM usage_hourly')
    .get() as { requests: number; completion: number }
  t.equal(hourly.requests, 2, 'both requests are counted')
  t.equal(hourly.completion, of(miss.result.requestId).completion_tokens, 'the hit’s tokens are not')
  const exported = [...rig.gateway.accounting.store.rows({})]
  t.same(
    exported.map((row) => row.cache),
    ['miss', 'hit'],
    'the export carries the column',
  )
})
