// Which requests the cache may answer: deterministic ones and embeddings by default; a route, a role or a key opted
// in to every request; the client's Cache-Control has the last word.
import t from 'tap'
import fc from 'fast-check'
import { cacheControlOf, cacheUse, type PolicySettings } from '../../src/cache/cachePolicy.js'
import { parseBody } from '../../src/cache/canonicalBody.js'
import { ask, chatModel, startCacheRig } from '../helpers/cacheRig.js'
import { holds } from '../helpers/fuzz.js'

const defaults: PolicySettings = {
  policy: 'deterministic',
  allRoutes: new Set(),
  allRoles: new Set(),
  allKeys: new Set(),
}

function use(
  body: object,
  options: { route?: string; role?: string; keyId?: string | null; cacheControl?: string } = {},
  settings: PolicySettings = defaults,
) {
  return cacheUse(
    {
      route: options.route ?? 'openai.chat_completions',
      role: options.role ?? 'user',
      keyId: 'keyId' in options ? options.keyId : 'abcdefgh2345',
      cacheControl: options.cacheControl ?? '',
      body: parseBody(Buffer.from(JSON.stringify(body)))!,
    },
    settings,
  )
}

const sampled = { model: 'm', messages: [], temperature: 0.7 }
const both = { read: true, write: true }

t.test('by default: deterministic generation and embeddings only', async (t) => {
  t.equal(use(sampled), 'not_deterministic')
  t.same(use({ ...sampled, temperature: 0 }), both)
  t.same(use({ ...sampled, seed: 7 }), both)
  t.same(use({ model: 'm', options: { temperature: 0 } }, { route: 'ollama.chat' }), both)
  t.equal(use({ model: 'm', temperature: 0 }, { route: 'ollama.chat' }), 'not_deterministic', 'native: in options')
  t.same(use({ model: 'm', input: 'x' }, { route: 'openai.embeddings' }), both)
})

t.test('a route, a role or a key opted in caches every request; others stay deterministic-only', async (t) => {
  t.same(use(sampled, {}, { ...defaults, policy: 'all' }), both)
  t.same(use(sampled, {}, { ...defaults, allRoutes: new Set(['openai.chat_completions']) }), both)
  t.equal(
    use(sampled, { route: 'openai.completions' }, { ...defaults, allRoutes: new Set(['openai.chat_completions']) }),
    'not_deterministic',
  )
  t.same(use(sampled, { role: 'service' }, { ...defaults, allRoles: new Set(['service']) }), both)
  t.equal(use(sampled, { role: 'user' }, { ...defaults, allRoles: new Set(['service']) }), 'not_deterministic')
  const keyed = { ...defaults, allKeys: new Set(['abcdefgh2345']) }
  t.same(use(sampled, { keyId: 'abcdefgh2345' }, keyed), both)
  t.equal(use(sampled, { keyId: 'zzzzzzzzzzzz' }, keyed), 'not_deterministic')
  t.equal(use(sampled, { keyId: null }, keyed), 'not_deterministic', 'a login session has no key')
})

t.test('Cache-Control: no-cache reads nothing but may store; no-store neither', async (t) => {
  const deterministic = { ...sampled, temperature: 0 }
  t.same(use(deterministic, { cacheControl: 'no-cache' }), { read: false, write: true })
  t.equal(use(deterministic, { cacheControl: cacheControlOf(['cache-control', 'max-age=0, No-Store']) }), 'no_store')
})

function useText(text: string, route: string) {
  return cacheUse({ route, role: 'user', keyId: null, cacheControl: '', body: parseBody(Buffer.from(text))! }, defaults)
}

t.test(
  'native options are read by exact name: another letter case is no temperature 0 (Ollama ignores it)',
  async (t) => {
    for (const route of ['ollama.chat', 'ollama.generate']) {
      t.equal(useText('{"options":{"Temperature":0}}', route), 'not_deterministic', `${route}: Temperature`)
      t.equal(useText('{"options":{"SEED":1}}', route), 'not_deterministic', `${route}: SEED`)
      t.equal(useText('{"options":{"temperature":0.8,"Temperature":0}}', route), 'not_deterministic')
      t.same(
        useText('{"Options":{"temperature":0}}', route),
        both,
        'the options field itself is a struct field: folded',
      )
    }
    t.same(useText('{"Temperature":0}', 'openai.chat_completions'), both, 'OpenAI fields are struct fields: folded')
    await holds(
      t,
      'an options key that is not exactly temperature/seed never makes a request deterministic',
      fc.property(fc.constantFrom('temperature', 'seed'), fc.array(fc.boolean(), { minLength: 1 }), (name, upper) => {
        const spelled = [...name].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c)).join('')
        const expected = spelled === name ? both : 'not_deterministic'
        const result = useText(`{"options":{${JSON.stringify(spelled)}:0}}`, 'ollama.chat')
        return JSON.stringify(result) === JSON.stringify(expected)
      }),
      200,
    )
  },
)

t.test(
  'a seed Ollama reads as random (-1, its uint32 form, a fraction truncated to it) is no fixed seed',
  async (t) => {
    for (const seed of ['-1', '-1.5', '-1.0', '4294967295', '-2', '1e0', '1.5']) {
      t.equal(useText(`{"options":{"seed":${seed}}}`, 'ollama.chat'), 'not_deterministic', `native seed ${seed}`)
      t.equal(useText(`{"seed":${seed}}`, 'openai.chat_completions'), 'not_deterministic', `OpenAI seed ${seed}`)
    }
    for (const seed of ['0', '7', '4294967294']) {
      t.same(useText(`{"options":{"seed":${seed}}}`, 'ollama.chat'), both, `native seed ${seed}`)
    }
    t.same(useText('{"options":{"seed":-1,"temperature":0}}', 'ollama.chat'), both, 'temperature 0 is greedy anyway')
  },
)

t.test('through the gateway: a sampled request spelled to look deterministic is never stored', async (t) => {
  const rig = await startCacheRig(t)
  const messages = [{ role: 'user', content: 'hi' }]
  for (const options of [{ Temperature: 0 }, { seed: -1 }, { SEED: 3 }]) {
    const body = { model: chatModel, messages, stream: false, options }
    for (let i = 0; i < 2; i++) {
      const asked = await ask(rig, '/api/chat', body)
      t.equal(asked.cache, 'bypass', JSON.stringify(options))
      t.equal(asked.result.cache?.reason, 'not_deterministic')
    }
  }
})
