// The gateway decides on exactly the body the backend acts on: generated bodies (key casings, Go's fold runes, \u
// escapes, duplicates, nulls, wrong types, odd numbers, deep nesting) go through the real gateway to a stand-in that
// decodes like Ollama (Go's encoding/json, Ollama's struct shapes). Either the gateway refused with a coded 4xx and
// nothing reached the backend, or every model Go acts on is one the key may use, the model recorded is the one Go runs,
// the tokens reserved are what Go will generate at most (or the default guess when it applies no limit) plus the
// prompt, and a streamed /v1 chat always asks Ollama for the usage it is counted by.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { compileAllowList } from '../../src/auth/modelAllowList.js'
import { maxTokenEstimate } from '../../src/api/requestFields.js'
import { holds } from '../helpers/fuzz.js'
import { startRig } from '../helpers/gateway.js'
import { checkGoReport, goMissing, startGoDecoder } from '../helpers/goDecoder.js'

const missing = goMissing()
t.test(
  'what Go decodes is what the gateway checked, recorded and reserved',
  { skip: missing ? `the Go decoder stand-in needs Go: ${missing}` : false },
  async (t) => {
    const standIn = await startGoDecoder(t)
    const rig = await startRig(t, {
      backends: [{ url: standIn, name: 'go' }],
      models: {
        aliases: [
          { alias: 'nice-alias', model: 'allowed-model' },
          { alias: 'bad-alias', model: 'forbidden-model' },
        ],
      },
    })
    const capacity = 2 ** 40
    rig.gateway.store.limits.set({
      subjectType: 'default',
      subject: '',
      gateway: '*',
      model: '',
      values: { tpm: capacity },
    })
    rig.gateway.authenticator.pollChanges()
    const allowed = compileAllowList(['allowed-model'])
    let users = 0
    const outcomes = { refused: 0, goRefused: 0, decoded: 0 }
    await holds(
      t,
      'Go decodes what the gateway decided on',
      fc.asyncProperty(routeArbitrary.chain(bodyFor), async ({ path, body }) => {
        const route = routes.find((candidate) => candidate.path === path)!
        const { headers } = rig.addKey({ role: 'admin', models: ['allowed-model'], username: `go${++users}` })
        const ended = rig.nextEnd()
        const response = await request(`${rig.url}${route.path}`, {
          method: 'POST',
          body: body.replace('DEEP', deep),
          headers: { ...headers, 'content-type': 'application/json' },
        })
        const text = await response.body.text()
        const result = await ended
        if (result.backend === null) {
          // Refused by the gateway: a coded 4xx (the code in x-parallama-error, whatever the dialect's body).
          const code = response.headers['x-parallama-error']
          if (!(response.statusCode >= 400 && response.statusCode < 500 && code === result.errorCode)) {
            throw new Error(`refusal without its code: ${response.statusCode} ${text} for ${body}`)
          }
          outcomes.refused++
          return
        }
        const report = checkGoReport(response.statusCode, text, result.model, allowed, body, outcomes)
        if (!report) return
        if (route.reserves) {
          const limit: number | null = report.decoded_num_predict
          const generated = limit !== null && limit > 0 ? limit : rig.config.limits.default_token_estimate
          const expected = Math.min(generated + Math.ceil(report.decoded_bytes / 4), maxTokenEstimate)
          const reserved = capacity - Number(response.headers['x-ratelimit-remaining-tokens'])
          if (reserved !== expected) {
            throw new Error(`reserved ${reserved}, Go may generate ${limit} (expected ${expected}): ${body}`)
          }
        }
        if (route.usage && report.decoded_stream && !report.decoded_include_usage) {
          throw new Error(`a streamed chat without include_usage reached Ollama: ${body}`)
        }
      }),
      300,
      0.002,
    )
    t.comment(
      `refused by the gateway: ${outcomes.refused}, by Go's decoder: ${outcomes.goRefused}, decoded: ${outcomes.decoded}`,
    )
    t.ok(outcomes.decoded > 0, 'some generated bodies reach the backend and run')
  },
)

interface Route {
  path: string
  fields: [string, fc.Arbitrary<string>][]
  /** Reserves tokens for what it generates (the reservation is checked). */
  reserves: boolean
  /** Streams /v1 chat: usage must be asked for. */
  usage?: boolean
}

/** Mostly what real clients send, often what an attacker would. */
function mostly(usual: string[], hostile: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...usual), weight: 3 },
    { arbitrary: fc.constantFrom(...hostile), weight: 1 },
  )
}
const models = mostly(
  ['"allowed-model"', '"Allowed-Model"', '"allowed-model:latest"', '"nice-alias"', '"forbidden-model"'],
  [
    '"registry.ollama.ai/library/allowed-model"',
    '"allowed\\u002dmodel"',
    '"bad-alias"',
    '""',
    'null',
    '42',
    '"\\ud800"',
    '"allowed-model\\u0000"',
    `"${'a'.repeat(700)}"`,
  ],
)
const bools = mostly(['true', 'false'], ['null', '"yes"', '1'])
const numbers = mostly(
  ['100', '20', '0', '-1', '2147483647', 'null'],
  ['1e300', '1e999', '-0', '1.5', '2147483648', '9007199254740993', '-2', '-3', '"5"', '1e3', '1.0'],
)
const options = fc
  .tuple(keyFor('num_predict'), numbers, fc.boolean())
  .map(([key, value, more]) => `{${key}:${value}${more ? ',"temperature":0.5' : ''}}`)
const streamOptions = fc.oneof(
  fc
    .tuple(fc.array(fc.tuple(keyFor('include_usage'), bools), { maxLength: 2 }))
    .map(([entries]) => `{${entries.map(([key, value]) => `${key}:${value}`).join(',')}}`),
  fc.constantFrom('null', '[]', '"x"'),
)

const routes: Route[] = [
  {
    path: '/api/generate',
    fields: [
      ['model', models],
      ['stream', bools],
      ['options', options],
    ],
    reserves: true,
  },
  {
    path: '/api/chat',
    fields: [
      ['model', models],
      ['stream', bools],
      ['options', options],
    ],
    reserves: true,
  },
  {
    path: '/api/show',
    fields: [
      ['model', models],
      ['name', models],
    ],
    reserves: false,
  },
  {
    path: '/api/pull',
    fields: [
      ['model', models],
      ['name', models],
      ['stream', bools],
    ],
    reserves: false,
  },
  {
    path: '/api/create',
    fields: [
      ['model', models],
      ['name', models],
      ['from', models],
      ['stream', bools],
    ],
    reserves: false,
  },
  {
    path: '/api/copy',
    fields: [
      ['source', models],
      ['destination', models],
    ],
    reserves: false,
  },
  {
    path: '/v1/chat/completions',
    fields: [
      ['model', models],
      ['stream', bools],
      ['stream_options', streamOptions],
      ['max_tokens', numbers],
    ],
    reserves: true,
    usage: true,
  },
  {
    path: '/v1/responses',
    fields: [
      ['model', models],
      ['stream', bools],
      ['max_output_tokens', numbers],
    ],
    reserves: true,
  },
  {
    path: '/v1/messages',
    fields: [
      ['model', models],
      ['stream', bools],
      ['max_tokens', numbers],
    ],
    reserves: true,
  },
]
const routeArbitrary = fc.constantFrom(...routes)

/** How Go would also read a key as `name`: a rune folded (K, ſ, İ, ı), a letter's case, a \u escape. */
const foldRunes: Record<string, string[]> = { k: ['\u212a'], s: ['\u017f'], i: ['\u0130', '\u0131'] }
function keyFor(name: string): fc.Arbitrary<string> {
  const spelling = fc.array(fc.constantFrom(0, 0, 0, 1, 2, 3, 4), { minLength: name.length, maxLength: name.length })
  const mutated = spelling.map((choices) => {
    let key = ''
    choices.forEach((choice, index) => {
      const char = name[index]!
      const folds = foldRunes[char.toLowerCase()]
      if (choice === 1) key += char.toUpperCase()
      else if (choice === 2 && folds) key += folds[index % folds.length]
      else if (choice === 3) key += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
      else if (choice === 4)
        key += `\\u${(folds?.[0] ?? char.toUpperCase()).charCodeAt(0).toString(16).padStart(4, '0')}`
      else key += char
    })
    return `"${key}"`
  })
  return fc.oneof({ arbitrary: fc.constant(`"${name}"`), weight: 2 }, { arbitrary: mutated, weight: 1 })
}

const deep = `${'['.repeat(10001)}${']'.repeat(10001)}`
const fillers = fc.constantFrom(
  '"prompt":"hi"',
  '"prompt":"hi"',
  '"keep_alive":"5m"',
  '"messages":[{"role":"user","content":"the \\"model\\": \\"forbidden-model\\""}]',
  '"x":[[{"a":{"b":[1,2,{"Model":"forbidden-model"}]}}]]',
  '"keep_alive":"5m"',
  // Replaced when sent (a counterexample stays readable): deeper than Go's 10000 levels.
  '"deep":DEEP',
  `"nested":${'['.repeat(300)}${']'.repeat(300)}`,
  // Long strings, which the reader skips a word at a time and past a few hundred bytes with memchr: an image; a quote
  // and a key hidden behind escapes far into a string; a raw control character (Go refuses it) far into one.
  `"images":["${'QUJD'.repeat(200)}"]`,
  `"prompt":"${'a'.repeat(333)}\\\\\\",\\"model\\":\\"forbidden-model${'b'.repeat(301)}"`,
  `"prompt":"${'c'.repeat(301)}\u0001${'d'.repeat(40)}"`,
)

/** A body for a route: each field 0-2 times under generated spellings, fillers, in any order. */
function bodyFor(route: Route): fc.Arbitrary<{ path: string; body: string }> {
  const entries = route.fields.map(([name, value]) =>
    fc
      .oneof(
        { arbitrary: fc.constant(0), weight: 2 },
        { arbitrary: fc.constant(1), weight: 8 },
        { arbitrary: fc.constant(2), weight: 1 },
      )
      .chain((count) =>
        fc.array(
          fc.tuple(keyFor(name), value).map(([key, text]) => `${key}:${text}`),
          { minLength: count, maxLength: count },
        ),
      ),
  )
  return fc
    .tuple(
      fc.tuple(...entries),
      fc.array(fillers, { maxLength: 1 }),
      fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    )
    .map(([fields, extra, order]) => {
      const all = [...fields.flat(), ...extra]
      const ranked = all.map((entry, index) => [order[index % order.length]! + index / 100, entry] as const)
      ranked.sort((a, b) => a[0] - b[0])
      return { path: route.path, body: `{${ranked.map(([, entry]) => entry).join(',')}}` }
    })
}
