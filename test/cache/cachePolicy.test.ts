// Which requests the cache may answer: deterministic ones and embeddings by default; a route, a role or a key opted
// in to every request; the client's Cache-Control has the last word.
import t from 'tap'
import { cacheControlOf, cacheUse, type PolicySettings } from '../../src/cache/cachePolicy.js'
import { parseBody } from '../../src/cache/canonicalBody.js'

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
