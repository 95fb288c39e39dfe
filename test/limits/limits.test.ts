// Rate limits: token buckets, which rule applies, 429s with the headers clients read, concurrency slots, token limits
// that hold under concurrency (reserve, then settle), and changes from the CLI reaching a running server.
import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { RuleSet } from '../../src/limits/rules.js'
import { TokenBucket } from '../../src/limits/tokenBucket.js'
import { runCli } from '../helpers/cli.js'
import { startRig, type Rig } from '../helpers/gateway.js'

t.test('a token bucket: a full window at once, then the steady rate; debts are waited out', async (t) => {
  const bucket = new TokenBucket(60, 60_000, 0)
  for (let i = 0; i < 60; i++) t.ok(bucket.take(1, 0))
  t.notOk(bucket.take(1, 0), 'empty after the burst')
  t.equal(bucket.waitMs(0), 1000, 'one token per second comes back')
  t.ok(bucket.take(1, 1000))
  const tokens = new TokenBucket(100, 60_000, 0)
  t.notOk(tokens.take(101, 0), 'a request counts whole')
  t.equal(tokens.reserve(80, 0), 80, 'a reservation may take what is left')
  t.equal(tokens.reserve(80, 0), 80, 'and go below zero once')
  t.equal(tokens.reserve(1, 0), -1, 'then nothing more until it refills')
  tokens.settle(80, 10, 0)
  t.equal(tokens.available(0), 10, 'settling a reservation gives back the difference')
  t.equal(tokens.reserve(1e300, 0), 100, 'a reservation takes at most the whole bucket')
  tokens.settle(100, 5, 0)
  t.equal(tokens.available(0), 5, 'and settles exactly')
})

t.test('the most specific rule sets each limit; an API-specific rule beats a shared one', async (t) => {
  const rules = new RuleSet([
    { subjectType: 'default', subject: '', gateway: '*', model: '', values: { rpm: 10, tpm: 1000, concurrency: 2 } },
    { subjectType: 'role', subject: 'user', gateway: '*', model: '', values: { rpm: 20 } },
    { subjectType: 'user', subject: '7', gateway: 'ollama', model: '', values: { rpm: 30 } },
    { subjectType: 'key', subject: 'k1', gateway: '*', model: '', values: { tpm: 500 } },
  ])
  const applied = rules.resolve({ keyId: 'k1', userId: 7, role: 'user' }, 'ollama')
  const from = Object.fromEntries(applied.map((limit) => [limit.kind, [limit.value, limit.rule.subjectType]]))
  t.same(from, { rpm: [30, 'user'], tpm: [500, 'key'], concurrency: [2, 'default'] })
  t.same(
    rules.resolve({ keyId: 'k2', userId: 8, role: 'readonly' }, 'openai').map((limit) => [limit.kind, limit.value]),
    [
      ['rpm', 10],
      ['tpm', 1000],
      ['concurrency', 2],
    ],
  )
  const counters = applied.map((limit) => limit.counter)
  t.ok(
    counters.includes('tpm|key:k1|*') && counters.includes('rpm|user:7|ollama'),
    'key limits count per key, others per user',
  )
})

async function generate(rig: Rig, headers: Record<string, string>, body: Record<string, unknown> = {}) {
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false, ...body }),
    headers,
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: JSON.parse(text) }
}

t.test(
  'over a request limit: 429 naming the limit, Retry-After, and the rate-limit headers on every response',
  async (t) => {
    const rig = await startRig(t)
    const { id, headers } = rig.addKey({ username: 'quick' })
    rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { rpm: 3 } })
    rig.gateway.authenticator.pollChanges()
    const first = await generate(rig, headers)
    t.equal(first.status, 200)
    t.match(first.headers, {
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '2',
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '2',
      'ratelimit-policy': '"rpm";q=3;w=60',
      ratelimit: /^"rpm";r=2;t=\d+$/,
    })
    await generate(rig, headers)
    await generate(rig, headers)
    const refused = await generate(rig, headers)
    t.equal(refused.status, 429)
    t.match(refused.body, {
      code: 'rate_limit_exceeded',
      error: /3 requests per minute \(API key \w+\); retry in 20 s/,
    })
    t.equal(refused.headers['retry-after'], '20')
    t.equal(rig.emulator.stats.requests, 3, 'the refused request never reached the backend')
    t.equal((await generate(rig, rig.headers)).status, 200, 'other keys are not affected')
  },
)

t.test('concurrency slots: held while a request runs, freed when it ends (also on abort)', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'one-at-a-time' })
  rig.gateway.store.limits.set({
    subjectType: 'default',
    subject: '',
    gateway: 'ollama',
    model: '',
    values: { concurrency: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const controller = new AbortController()
  const slow = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x' }),
    headers: { ...headers, 'x-emulator-tokens': '500', 'x-emulator-delay-ms': '10' },
    signal: controller.signal,
  })
  const second = await generate(rig, headers)
  t.match(second, {
    status: 429,
    body: { error: /1 requests in flight \(the default limit for each user on the ollama API\)/ },
  })
  const ended = rig.nextEnd()
  controller.abort()
  await slow.body.dump().catch(() => {})
  await ended
  t.equal((await generate(rig, headers)).status, 200, 'the slot was freed by the abort')
})

t.test('a token limit holds under 50 concurrent requests: overshoot within one request’s estimate', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'burst' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { tpm: 200 } })
  rig.gateway.authenticator.pollChanges()
  const body = { options: { num_predict: 20 } }
  const results = await Promise.all(Array.from({ length: 50 }, () => generate(rig, headers, body)))
  const served = results.filter((result) => result.status === 200)
  const used = served.reduce((sum, result) => sum + result.body.prompt_eval_count + result.body.eval_count, 0)
  const estimate =
    20 + Math.ceil(JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false, ...body }).length / 4)
  t.ok(served.length > 0 && served.length < 50, `${served.length} of 50 served`)
  t.ok(used <= 200 + estimate, `${used} tokens used against a limit of 200 (+ one estimate of ${estimate})`)
  t.ok(
    results
      .filter((result) => result.status === 429)
      .every((result) => /200 tokens per minute/.test(result.body.error)),
  )
})

t.test(
  'limit set from a separate CLI process reaches the running server within a second; explain says why',
  async (t) => {
    const rig = await startRig(t)
    const { id, headers } = rig.addKey({ username: 'cli-limited' })
    const cli = (args: string[]) => runCli([...args, '--db', rig.config.database.path])
    // The change comes from another process, as an admin makes it beside a running server.
    const set = spawnSync(
      process.execPath,
      ['dist/cli/index.js', 'limit', 'set', '--user', 'cli-limited', '--rpm', '1', '--db', rig.config.database.path],
      { encoding: 'utf8' },
    )
    t.equal(set.status, 0, set.stderr)
    const explained = JSON.parse((await cli(['limit', 'explain', '--key', id, '--json'])).stdout)
    t.same(explained, [{ limit: 'rpm', value: 1, from: 'user cli-limited', gateway: '*', model: '*' }])
    const deadline = Date.now() + 1000
    let statuses: number[] = []
    while (Date.now() < deadline) {
      statuses = [(await generate(rig, headers)).status, (await generate(rig, headers)).status]
      if (statuses.includes(429)) break
      await sleep(50)
    }
    t.ok(statuses.includes(429), 'the new limit applies within a second')
    t.equal((await cli(['limit', 'reset', '--user', 'cli-limited'])).code, 0)
    const removed = Date.now() + 1000
    let status = (await generate(rig, headers)).status
    while (status !== 200 && Date.now() < removed) {
      await sleep(50)
      status = (await generate(rig, headers)).status
    }
    t.equal(status, 200, 'and its removal too, within a second')
    const errors: [string[], number, RegExp][] = [
      [['limit', 'set', '--rpm', '5'], 2, /exactly one of --key, --user, --role, --default or --ip/],
      [['limit', 'set', '--default'], 2, /set at least one of/],
      [['limit', 'set', '--default', '--rpm', '0'], 2, /--rpm: expected a whole number of at least 1/],
      [['limit', 'set', '--role', 'boss', '--rpm', '5'], 2, /no role "boss"/],
      [['limit', 'set', '--user', 'nobody', '--rpm', '5'], 1, /no user "nobody"/],
      [['limit', 'get', '--default'], 1, /no limits set for default/],
      [['limit', 'explain'], 2, /name one of --key or --user/],
    ]
    for (const [args, code, message] of errors) {
      const result = await cli(args)
      t.equal(result.code, code, args.join(' '))
      t.match(result.stderr, message)
    }
  },
)

t.test(
  'token quotas per calendar day: used up -> 429 quota_exceeded until the next day; rebuilt from the rollups',
  async (t) => {
    const rig = await startRig(t)
    const { id, headers } = rig.addKey({ username: 'quota' })
    // Usage already recorded today (as after a restart): 150 tokens by this key.
    const now = Date.now()
    rig.gateway.accounting.store.write([
      {
        time: now - 1000,
        requestId: 'earlier',
        userId: null,
        username: 'quota',
        keyId: id,
        api: 'ollama',
        route: 'generate',
        model: 'llama3.2:3b',
        backend: 'emulator',
        status: 200,
        errorCode: null,
        promptTokens: 50,
        completionTokens: 100,
        tokens: 'exact',
        ttfbMs: 1,
        durationMs: 2,
        queueMs: 0,
        bytesIn: 1,
        bytesOut: 1,
        clientIp: null,
        clientAborted: false,
        cost: 0,
        cache: null,
        freeTokens: false,
      },
    ])
    const cli = (args: string[]) => runCli([...args, '--db', rig.config.database.path])
    t.equal((await cli(['limit', 'set', '--key', id, '--daily-tokens', '200'])).code, 0)
    rig.gateway.authenticator.pollChanges()
    const body = { options: { num_predict: 10 } }
    const first = await generate(rig, headers, body)
    t.equal(first.status, 200, '150 of 200 used: admitted')
    let refused
    for (let i = 0; i < 10 && !refused; i++) {
      const next = await generate(rig, headers, body)
      if (next.status === 429) refused = next
    }
    if (!refused) return t.fail('refused once the quota is used up')
    t.match(refused.body, {
      code: 'quota_exceeded',
      error: /quota used up: 200 tokens per day \(API key \w+\); it renews in \d+ s/,
    })
    const midnight = new Date(now)
    const secondsLeft =
      (Date.UTC(midnight.getUTCFullYear(), midnight.getUTCMonth(), midnight.getUTCDate() + 1) - Date.now()) / 1000
    t.ok(Math.abs(Number(refused.headers['retry-after']) - secondsLeft) < 5, 'Retry-After points at the next UTC day')
    t.match(JSON.parse((await cli(['limit', 'get', '--key', id, '--json'])).stdout), { daily_tokens: 200 })
  },
)

t.test('request quotas per calendar month: counted from the rollups, then per request', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'monthly' })
  await generate(rig, headers)
  await rig.gateway.accounting.recorder.drain()
  rig.gateway.store.limits.set({
    subjectType: 'user',
    subject: String(rig.gateway.store.users.get('monthly').id),
    gateway: 'ollama',
    model: '',
    values: { monthly_requests: 3 },
  })
  rig.gateway.authenticator.pollChanges()
  t.equal((await generate(rig, headers)).status, 200, 'the 2nd of 3')
  t.equal((await generate(rig, headers)).status, 200, 'the 3rd of 3')
  const refused = await generate(rig, headers)
  t.match(refused, {
    status: 429,
    body: { code: 'quota_exceeded', error: /3 requests per month \(user monthly on the ollama API\)/ },
  })
})

t.test('address limits guard every request, unauthenticated ones included, per client address', async (t) => {
  const rig = await startRig(t)
  const cli = (args: string[]) => runCli([...args, '--db', rig.config.database.path])
  t.equal((await cli(['limit', 'set', '--ip', '127.0.0.0/8', '--rpm', '3'])).code, 0)
  t.match(await cli(['limit', 'set', '--ip', '10.0.0.0/33', '--rpm', '3']), {
    code: 2,
    stderr: /--ip: expected an address range/,
  })
  t.match(await cli(['limit', 'set', '--ip', '10.0.0.0/8', '--tpm', '3']), { code: 2, stderr: /--ip rules take --rpm/ })
  rig.gateway.authenticator.pollChanges()
  const statuses: number[] = []
  for (const headers of [{}, { authorization: 'Bearer nope' }, rig.headers, rig.headers]) {
    statuses.push((await generate(rig, headers)).status)
  }
  t.same(statuses, [401, 401, 200, 429], 'wrong and missing credentials count against the address too')
  const refused = await generate(rig, rig.headers)
  t.match(refused.body, {
    code: 'rate_limit_exceeded',
    error: /3 requests per minute \(address 127\.0\.0\.1, range 127\.0\.0\.0\/8\)/,
  })
})

t.test('a model rule applies on top of the rules for every model, counted for that model only', async (t) => {
  const rules = new RuleSet([
    { subjectType: 'user', subject: '7', gateway: '*', model: '', values: { rpm: 100, daily_tokens: 10_000 } },
    { subjectType: 'default', subject: '', gateway: '*', model: 'llama3.1:70b', values: { daily_tokens: 500 } },
  ])
  const caller = { keyId: 'k1', userId: 7, role: 'user' as const }
  const big = rules.resolve(caller, 'openai', 'llama3.1:70b')
  t.same(
    big.map((limit) => [limit.kind, limit.value, limit.counter]),
    [
      ['rpm', 100, 'rpm|user:7|*'],
      ['daily_tokens', 10_000, 'daily_tokens|user:7|*'],
      ['daily_tokens', 500, 'daily_tokens|user:7|*|llama3.1:70b'],
    ],
  )
  t.equal(rules.resolve(caller, 'openai', 'llama3.2:3b').length, 2, 'other models: only the rules for every model')
})

t.test('per-model request quotas: rebuilt from that model’s usage, no bypass by spelling', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'modelled' })
  const cli = (args: string[]) => runCli([...args, '--db', rig.config.database.path])
  t.equal((await generate(rig, headers)).status, 200, 'one llama3.2:3b request before the quota')
  t.equal((await generate(rig, headers, { model: 'qwen2.5:0.5b' })).status, 200, 'and one for another model')
  await rig.gateway.accounting.recorder.drain()
  const set = await cli([
    'limit',
    'set',
    '--user',
    'modelled',
    '--model',
    'Llama3.2:3b',
    '--daily-requests',
    '2',
    '--json',
  ])
  t.equal(set.code, 0, set.stderr)
  t.match(JSON.parse(set.stdout), { subject: 'user modelled', model: 'llama3.2:3b', daily_requests: 2 })
  rig.gateway.authenticator.pollChanges()
  t.equal((await generate(rig, headers)).status, 200, 'the 2nd llama3.2:3b request of 2 today')
  const refused = await generate(rig, headers, { model: 'registry.ollama.ai/library/LLAMA3.2:3b' })
  t.match(refused, {
    status: 429,
    body: { code: 'quota_exceeded', error: /2 requests per day \(user modelled for model llama3\.2:3b\)/ },
  })
  t.equal((await generate(rig, headers, { model: 'qwen2.5:0.5b' })).status, 200, 'other models are not affected')
  t.match(
    JSON.parse((await cli(['limit', 'explain', '--user', 'modelled', '--model', 'llama3.2:3b', '--json'])).stdout),
    [{ limit: 'daily_requests', value: 2, from: 'user modelled', model: 'llama3.2:3b' }],
  )
  t.match(await cli(['limit', 'set', '--ip', '10.0.0.0/8', '--model', 'x', '--rpm', '1']), {
    code: 2,
    stderr: /--ip rules apply to every model/,
  })
  t.match(await cli(['limit', 'set', '--default', '--model', 'llama3:*', '--rpm', '1']), {
    code: 2,
    stderr: /--model: expected one model such as llama3\.2:3b, got "llama3:\*"/,
  })
  t.match(await cli(['limit', 'get', '--user', 'modelled']), {
    code: 1,
    stderr: /no limits set for user modelled \(\*\)/,
  })
  t.equal((await cli(['limit', 'reset', '--user', 'modelled', '--model', 'llama3.2:3b'])).code, 0)
})
