// Whose answer a hit is, and when an entry must not answer: another user's (scope), a model pulled again (digest),
// a stream cut short (never stored); a hit leaves the caller's token limits as they were. And the end-to-end
// property: generated request sequences through the real gateway, 0 wrong hits.
import t from 'tap'
import fc from 'fast-check'
import { request } from 'undici'
import { ask, chatModel, learnInventory, startCacheRig } from '../helpers/cacheRig.js'
import { holds } from '../helpers/fuzz.js'

const body = { model: chatModel, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { seed: 1 } }

t.test('a hit is never another user’s answer, unless the scope is global', async (t) => {
  const rig = await startCacheRig(t)
  const alice = rig.addKey({ username: 'alice' })
  const bob = rig.addKey({ username: 'bob' })
  t.equal((await ask(rig, '/api/chat', body, alice.headers)).cache, 'miss')
  t.equal((await ask(rig, '/api/chat', body, alice.headers)).cache, 'hit')
  t.equal((await ask(rig, '/api/chat', body, bob.headers)).cache, 'miss', 'bob does not get alice’s entry')
  const aliceAgain = rig.addKey({ username: 'alice' })
  t.equal((await ask(rig, '/api/chat', body, aliceAgain.headers)).cache, 'hit', 'another key of the same user does')

  const shared = await startCacheRig(t, { scope: 'global' })
  const carol = shared.addKey({ username: 'carol' })
  const dave = shared.addKey({ username: 'dave' })
  t.equal((await ask(shared, '/api/chat', body, carol.headers)).cache, 'miss')
  t.equal((await ask(shared, '/api/chat', body, dave.headers)).cache, 'hit', 'scope global: anyone’s')
})

t.test('a model pulled again (a new digest) never answers with the old one’s replies', async (t) => {
  const rig = await startCacheRig(t)
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit')
  const backend = rig.gateway.backends[0]!
  const tags = (await (await fetch(`${rig.emulator.url}/api/tags`)).json()) as { models: { name: string }[] }
  const repulled = tags.models.map((model) => (model.name === chatModel ? { ...model, digest: 'f'.repeat(64) } : model))
  backend.inventory.updateInstalled({ models: repulled })
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss', 'the new digest is a new key')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit')
  await learnInventory(rig)
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit', 'the old weights back: their entry again')

  // Two backends that name different digests for the model: which one would answer is not known.
  const two = await startCacheRig(t)
  const url = two.gateway.backends[0]!.url
  const pair = await startCacheRig(
    t,
    {},
    {
      backends: [
        { url, name: 'a' },
        { url, name: 'b' },
      ],
    },
  )
  pair.gateway.backends[1]!.inventory.updateInstalled({ models: repulled })
  const differs = await ask(pair, '/api/chat', body)
  t.equal(differs.cache, 'bypass')
  t.equal(differs.result.cache?.reason, 'digest_differs')
  const unknown = await startCacheRig(t)
  unknown.gateway.backends[0]!.inventory.updateInstalled({ models: [{ name: chatModel }] })
  const asked = await ask(unknown, '/api/chat', body)
  t.equal(asked.cache, 'bypass', 'a digest the backend did not say: no caching')
  t.equal(asked.result.cache?.reason, 'digest_unknown')
})

t.test('a stream cut short or failed is never stored', async (t) => {
  const rig = await startCacheRig(t)
  const streamed = { ...body, stream: true }
  for (const fault of ['error_mid_stream', 'reset_mid_stream']) {
    const failed = await ask(rig, '/api/chat', streamed, { ...rig.headers, 'x-emulator-fault': fault })
    t.equal(failed.cache, 'miss', fault)
    t.equal((await ask(rig, '/api/chat', streamed)).cache, 'miss', `${fault}: not stored`)
    t.equal((await ask(rig, '/api/chat', streamed)).cache, 'hit', 'a complete one is')
    rig.gateway.cache!.purgeMemory({})
  }
  // A client that leaves mid-stream: the reply it did not wait for is not stored either.
  const controller = new AbortController()
  const slow = { ...rig.headers, 'content-type': 'application/json', 'x-emulator-delay-ms': '20' }
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}/api/chat`, {
    method: 'POST',
    headers: slow,
    body: JSON.stringify(streamed),
    signal: controller.signal,
  })
  for await (const _chunk of response.body) {
    controller.abort()
    break
  }
  const left = await ended
  t.ok(left.clientAborted, 'the client left')
  t.equal((await ask(rig, '/api/chat', streamed)).cache, 'miss', 'left mid-stream: not stored')
})

t.test('a hit does not count against token limits (cache.count_tokens: false), and does when set', async (t) => {
  for (const countTokens of [false, true]) {
    const rig = await startCacheRig(t, { count_tokens: countTokens })
    // A day's bucket: it refills too slowly to hide a charge within the test.
    rig.gateway.store.limits.set({
      subjectType: 'default',
      subject: '',
      gateway: '*',
      model: '',
      values: { tpd: 100_000 },
    })
    rig.gateway.authenticator.pollChanges()
    const user = rig.addKey()
    const left = (asked: { headers: Record<string, unknown> }) => Number(asked.headers['x-ratelimit-remaining-tokens'])
    const miss = await ask(rig, '/api/chat', body, user.headers)
    const used = (miss.result.usage!.promptTokens ?? 0) + (miss.result.usage!.completionTokens ?? 0)
    t.ok(used > 0)
    await ask(rig, '/api/chat', body, user.headers)
    await ask(rig, '/api/chat', body, user.headers)
    const fourth = await ask(rig, '/api/chat', body, user.headers)
    t.equal(fourth.cache, 'hit')
    const spent = left(miss) - left(fourth)
    // The bucket refills about a token a second meanwhile.
    const expected = countTokens ? 3 * used : used
    t.ok(
      spent <= expected && spent >= expected - 2,
      countTokens
        ? `count_tokens: every request spent its tokens, the hits too (${spent} of ${expected})`
        : `only the miss spent tokens; each hit's reservation came back whole (${spent} of ${expected})`,
    )
  }
})

t.test('end to end: generated request sequences through the gateway, 0 wrong hits', async (t) => {
  const rig = await startCacheRig(t)
  const users = [rig.addKey({ username: 'p1' }), rig.addKey({ username: 'p2' })]
  let round = 0
  const options = fc.record(
    {
      temperature: fc.constantFrom(0, 0.0, 0.5),
      seed: fc.constantFrom(1, 2),
      num_ctx: fc.constantFrom(2048, 4096),
      top_k: fc.constantFrom(1, 40),
    },
    { requiredKeys: [] },
  )
  const asked = fc.record({
    user: fc.constantFrom(0, 1),
    route: fc.constantFrom('/api/chat', '/v1/chat/completions'),
    content: fc.constantFrom('a', 'b'),
    stream: fc.boolean(),
    keepAlive: fc.constantFrom(undefined, '5m', 0),
    options,
    reversed: fc.boolean(),
  })
  await holds(
    t,
    'cache end to end: no wrong hit',
    fc.asyncProperty(fc.array(asked, { minLength: 4, maxLength: 12 }), async (sequence) => {
      // Each run starts from an empty cache (a purge), so what it saw is what the oracle knows.
      rig.gateway.cache!.purgeMemory({})
      round++
      const seen = new Map<string, string>()
      for (const one of sequence) {
        const native = one.route === '/api/chat'
        const fields: Record<string, unknown> = native
          ? {
              model: chatModel,
              messages: [{ role: 'user', content: one.content }],
              stream: one.stream,
              options: one.options,
            }
          : { model: chatModel, messages: [{ role: 'user', content: one.content }], stream: one.stream, ...one.options }
        if (one.keepAlive !== undefined) fields.keep_alive = one.keepAlive
        const ordered = one.reversed ? Object.fromEntries(Object.entries(fields).reverse()) : fields
        const deterministic = one.options.temperature === 0 || one.options.seed !== undefined
        const { keep_alive: _unused, ...keyed } = fields
        const identity = JSON.stringify([one.user, one.route, sortedJson(keyed)])
        const reply = await ask(rig, one.route, ordered, users[one.user]!.headers)
        if (reply.status !== 200) return false
        const expected = !deterministic ? 'bypass' : seen.has(identity) ? 'hit' : 'miss'
        if (reply.cache !== expected) return false
        if (expected === 'hit' && native && reply.text !== seen.get(identity)) return false
        if (expected === 'miss') seen.set(identity, reply.text)
      }
      return true
    }),
    25,
    0.01,
  )
  t.ok(round >= 25)
})

function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`
  const record = value as Record<string, unknown>
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${sortedJson(record[key])}`)
    .join(',')}}`
}
