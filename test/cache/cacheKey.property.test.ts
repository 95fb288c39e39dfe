// The key's guarantee: two bodies that differ in anything but the members that cannot change the reply (keep_alive)
// never share a key; bodies equal up to member order and whitespace always do. Checked against an independent oracle
// (JSON.parse and a sorted JSON.stringify) on generated bodies, and on the cases a number-rounding or merging
// canonical form would get wrong.
import t from 'tap'
import fc from 'fast-check'
import { parseBody } from '../../src/cache/canonicalBody.js'
import { cacheKey } from '../../src/cache/cacheKey.js'
import { holds } from '../helpers/fuzz.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const parts = { route: 'ollama.chat', query: '', digest: 'd1', scope: 'user:1' }

function keyOf(text: string, more: Partial<typeof parts> = {}): string {
  const body = parseBody(Buffer.from(text))
  if (body === undefined) throw new Error(`not JSON: ${text}`)
  return cacheKey({ ...parts, ...more, body })
}

/** The oracle: the same value as JSON sees it, member order aside, top-level keep_alive left out. */
function oracle(value: Json, top = true): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((item) => oracle(item, false)).join(',')}]`
  const keys = Object.keys(value)
    .filter((key) => !(top && key === 'keep_alive'))
    .sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${oracle(value[key]!, false)}`).join(',')}}`
}

/** The same value written another way: members shuffled (by a seed), spaces and newlines between tokens. */
function rewritten(value: Json, seed: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[ ${value.map((item) => rewritten(item, seed + 1)).join(' ,\n')} ]`
  const keys = Object.keys(value)
  const order = keys.map((key, i) => ({ key, rank: (i * 7919 + seed * 104729) % (keys.length * 31 + 1) }))
  order.sort((a, b) => a.rank - b.rank)
  return `{\t${order.map(({ key }) => `${JSON.stringify(key)} : ${rewritten(value[key]!, seed + 3)}`).join(', ')} }`
}

const fieldName = fc.oneof(
  fc.constantFrom('model', 'messages', 'options', 'temperature', 'seed', 'num_ctx', 'stream', 'keep_alive', 'format'),
  fc.string({ maxLength: 6 }),
)
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
)
const json: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fieldName, tie('value'), { maxKeys: 5 }),
  ),
})).value
const body = fc.dictionary(fieldName, json, { minKeys: 1, maxKeys: 6 }) as fc.Arbitrary<Json>

t.test(
  'bodies that JSON reads differently never share a key; the same body written another way always does',
  async (t) => {
    await holds(
      t,
      'cache key separates bodies',
      fc.property(body, body, fc.nat(), (a, b, seed) => {
        const sameValue = oracle(a) === oracle(b)
        const sameKey = keyOf(JSON.stringify(a)) === keyOf(rewritten(b, seed))
        return sameValue === sameKey
      }),
      3000,
    )
    await holds(
      t,
      'cache key ignores member order and whitespace',
      fc.property(body, fc.nat(), (a, seed) => keyOf(JSON.stringify(a)) === keyOf(rewritten(a, seed))),
      2000,
    )
  },
)

t.test('a change anywhere but keep_alive makes another key', async (t) => {
  /** Every path to a value in the body, and the body with that value replaced. */
  const replaced = (value: Json, path: (string | number)[], by: Json): Json => {
    if (path.length === 0) return by
    const [head, ...rest] = path
    if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaced(item, rest, by) : item))
    const copy = { ...(value as Record<string, Json>) }
    copy[head as string] = replaced(copy[head as string]!, rest, by)
    return copy
  }
  const paths = (value: Json, prefix: (string | number)[] = []): (string | number)[][] => {
    if (value === null || typeof value !== 'object') return [prefix]
    const inner = Array.isArray(value)
      ? value.flatMap((item, i) => paths(item, [...prefix, i]))
      : Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]))
    return [prefix, ...inner]
  }
  await holds(
    t,
    'cache key changes with any value',
    fc.property(body, fc.nat(), json, (a, pick, by) => {
      const all = paths(a).filter((path) => path.length > 0)
      const path = all[pick % all.length]!
      const b = replaced(a, path, by)
      if (oracle(a) === oracle(b)) return true // the same value again: nothing changed
      const onlyKeepAlive = path[0] === 'keep_alive'
      return (keyOf(JSON.stringify(a)) === keyOf(JSON.stringify(b))) === onlyKeepAlive
    }),
    3000,
  )
})

t.test('what a lossy canonical form would merge stays apart', async (t) => {
  const pairs: [string, string][] = [
    ['{"seed":9007199254740993}', '{"seed":9007199254740992}'],
    ['{"num_ctx":1e400}', '{"num_ctx":1e401}'],
    ['{"a":1,"a":2}', '{"a":2}'],
    ['{"a":1,"a":2}', '{"a":2,"a":1}'],
    ['{"Temperature":0}', '{"temperature":0}'],
    ['{"x":"\\u00e9"}', '{"x":"e\\u0301"}'],
    ['{"options":{"num_ctx":2048}}', '{"options":{"num_ctx":4096}}'],
    ['{"stream":true}', '{"stream":false}'],
    ['{"stream":true}', '{}'],
  ]
  for (const [a, b] of pairs) t.not(keyOf(a), keyOf(b), `${a} / ${b}`)
  t.equal(keyOf('{"x":"\\u00e9"}'), keyOf('{"x":"é"}'), 'an escape and its character are one string')
  t.equal(keyOf('{"a":1,"keep_alive":"5m"}'), keyOf('{"keep_alive":-1,"a":1}'), 'keep_alive is not in the key')
  t.not(keyOf('{"o":{"keep_alive":1}}'), keyOf('{"o":{}}'), 'only the top-level keep_alive')
  t.not(keyOf('{}'), keyOf('{}', { route: 'ollama.generate' }), 'the route')
  t.not(keyOf('{}'), keyOf('{}', { digest: 'd2' }), 'the model’s digest')
  t.not(keyOf('{}'), keyOf('{}', { scope: 'user:2' }), 'the scope')
  t.not(keyOf('{}'), keyOf('{}', { query: 'x=1' }), 'the query')
  t.not(
    keyOf('{}', { route: 'a', digest: 'bc' }),
    keyOf('{}', { route: 'ab', digest: 'c' }),
    'parts never run together',
  )
  t.not(keyOf('{}', { query: '\ud800' }), keyOf('{}', { query: '\ufffd' }), 'a lone surrogate is not U+FFFD')
  t.not(keyOf('{}', { digest: '\udc00x' }), keyOf('{}', { digest: '\ud800x' }), 'nor another lone surrogate')
  t.equal(parseBody(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), undefined, 'not UTF-8: no body to key')
  t.equal(parseBody(Buffer.from('{"a":1} x')), undefined, 'trailing bytes: no body to key')
  t.equal(parseBody(Buffer.from('{"a":01}')), undefined, 'a number JSON does not allow')
})
