// Attack: under a daily token quota, send one request that may generate without limit (no num_predict, -1, 0, or a
// limit far above the quota). The quota only refuses the next request, and its debt is forgiven at midnight: one
// such request a day would take any number of tokens. The gateway holds the reply to what the quota has left.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { readJsonFields } from '../../src/api/jsonFields.js'
import { readOllamaBody } from '../../src/api/ollamaBody.js'
import { readOpenAiBody } from '../../src/api/openaiBody.js'
import { tokenCapEdits, type RequestFields } from '../../src/api/requestFields.js'
import { applyEdits } from '../../src/api/jsonFields.js'
import { ModelAliases } from '../../src/models/aliases.js'
import { GatewayError } from '../../src/errors.js'
import { holds } from '../helpers/fuzz.js'
import { startRig } from '../helpers/gateway.js'

const chat = [{ role: 'user', content: 'say everything' }]
const cases: [string, Record<string, unknown>, (reply: any) => number][] = [
  ['/api/generate', { model: 'llama3.2:3b', prompt: 'forever', stream: false }, (r) => r.eval_count],
  [
    '/api/generate',
    { model: 'llama3.2:3b', prompt: 'x', stream: false, options: { num_predict: -1 } },
    (r) => r.eval_count,
  ],
  ['/api/chat', { model: 'llama3.2:3b', messages: chat, stream: false, options: null }, (r) => r.eval_count],
  ['/api/chat', { model: 'llama3.2:3b', messages: chat, stream: false, options: {} }, (r) => r.eval_count],
  [
    '/api/chat',
    { model: 'llama3.2:3b', messages: chat, stream: false, options: { temperature: 1, num_predict: 0 } },
    (r) => r.eval_count,
  ],
  [
    '/api/generate',
    { model: 'llama3.2:3b', prompt: 'x', stream: false, options: { num_predict: 100000 } },
    (r) => r.eval_count,
  ],
  ['/v1/chat/completions', { model: 'llama3.2:3b', messages: chat }, (r) => r.usage.completion_tokens],
  [
    '/v1/chat/completions',
    { model: 'llama3.2:3b', messages: chat, max_tokens: 90000 },
    (r) => r.usage.completion_tokens,
  ],
  ['/v1/responses', { model: 'llama3.2:3b', input: 'x' }, (r) => r.usage.output_tokens],
  ['/v1/messages', { model: 'llama3.2:3b', messages: chat, max_tokens: 50000 }, (r) => r.usage.output_tokens],
]

t.test('a reply is held to what the daily token quota has left', async (t) => {
  const rig = await startRig(t)
  for (const [index, [path, body, generated]] of cases.entries()) {
    const { id, headers } = rig.addKey({ username: `capped${index}` })
    rig.gateway.store.limits.set({
      subjectType: 'key',
      subject: id,
      gateway: '*',
      model: '',
      values: { daily_tokens: 300 },
    })
    rig.gateway.authenticator.pollChanges()
    const response = await request(`${rig.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { ...headers, 'x-emulator-tokens': '5000' },
    })
    const reply = (await response.body.json()) as any
    t.equal(response.statusCode, 200, `${path} ${JSON.stringify(body).slice(40, 110)}`)
    const count = generated(reply)
    t.ok(count > 0 && count <= 300, `${path}: ${count} tokens generated under a 300-token quota`)
  }
})

t.test('without a quota, nothing is changed', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'free' })
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x', stream: false }),
    headers: { ...headers, 'x-emulator-tokens': '700' },
  })
  t.equal(((await response.body.json()) as any).eval_count, 700)
})

t.test('tokenCapEdits: the capped body is valid JSON and reads back with the cap, on every route', async (t) => {
  const aliases = new ModelAliases([{ alias: 'fast', model: 'llama3.2:3b' }])
  const key = fc.constantFrom('temperature', 'num_ctx', 'seed')
  const nativeBody = fc.record(
    {
      model: fc.constantFrom('llama3.2:3b', 'fast'),
      prompt: fc.string(),
      options: fc.oneof(
        fc.constant(null),
        fc.dictionary(key, fc.integer()),
        fc.record({ num_predict: fc.oneof(fc.constant(null), fc.integer({ min: -2, max: 2 ** 31 - 1 })) }),
      ),
    },
    { requiredKeys: ['model'] },
  )
  const openAiBody = fc.record(
    {
      model: fc.constantFrom('llama3.2:3b', 'fast'),
      stream: fc.boolean(),
      max_tokens: fc.oneof(fc.constant(null), fc.integer({ min: -2, max: 2 ** 31 - 1 })),
      max_output_tokens: fc.integer({ min: -2, max: 2 ** 31 - 1 }),
      max_completion_tokens: fc.integer({ min: -2, max: 2 ** 31 - 1 }),
    },
    { requiredKeys: ['model'] },
  )
  const check = (body: Buffer, read: (b: Buffer) => RequestFields | GatewayError, cap: number) => {
    const fields = read(body)
    if (fields instanceof GatewayError) return true
    const capped = applyEdits(body, [...(fields.edits ?? []), ...tokenCapEdits(body, fields.tokenField!, cap)])
    const again = read(capped)
    if (again instanceof GatewayError) return false
    JSON.parse(capped.toString())
    if (again.models[0] !== 'llama3.2:3b') return false
    return again.predict === cap && readJsonFields(capped, { fields: [], folds: true }) instanceof Array
  }
  await holds(
    t,
    'capped bodies read back with the cap',
    fc.property(nativeBody, openAiBody, fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (n, o, cap, pretty) => {
      const text = (v: unknown) => Buffer.from(pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v))
      return (
        check(text(n), (b) => readOllamaBody(b, 'generate', aliases), cap) &&
        check(text(o), (b) => readOpenAiBody(b, 'completions', aliases), cap) &&
        check(text(o), (b) => readOpenAiBody(b, 'responses', aliases), cap) &&
        check(text(o), (b) => readOpenAiBody(b, 'messages', aliases), cap)
      )
    }),
    2000,
  )
})
