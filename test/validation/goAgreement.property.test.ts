// Validation agrees with Go on the fields Go has an opinion on: a generated valid body, or one with a Go-typed field
// given a value of another JSON kind (or a string Go parses: keep_alive, think, format), is refused by the gateway's
// reader and strict schema exactly when Ollama's decoding refuses it (the stand-in test/helpers/goDecoder/typed.go:
// Ollama's struct types, Options.FromMap, the format and embed-input checks). Ranges, enums and required fields are the
// schema's own rules (Go has no opinion there) and are not mutated here.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { readOllamaBody } from '../../src/api/ollamaBody.js'
import { readOpenAiBody } from '../../src/api/openaiBody.js'
import { withValidation } from '../../src/api/readFields.js'
import type { RequestFields } from '../../src/api/requestFields.js'
import { GatewayError } from '../../src/errors.js'
import { ModelAliases } from '../../src/models/aliases.js'
import { holds } from '../helpers/fuzz.js'
import { goMissing, startGoDecoder } from '../helpers/goDecoder.js'
import { broken, routeCases } from '../helpers/validRequests.js'

type Kind = 'string' | 'integer' | 'fraction' | 'bool' | 'array' | 'object'
const values: Record<Kind, fc.Arbitrary<unknown>> = {
  string: fc.string({ maxLength: 8 }),
  integer: fc.integer({ min: -1000, max: 1000 }),
  fraction: fc.double({ min: -1000, max: 1000, noNaN: true }).filter((value) => !Number.isInteger(value)),
  bool: fc.boolean(),
  array: fc.constantFrom<unknown>(['x'], [1], [{}]),
  object: fc.constantFrom<unknown>({}, { a: 1 }),
}
const allKinds = Object.keys(values) as Kind[]

/** A Go-typed field: where it is, the kinds it takes, and strings Go parses its own way (agreement on those too). */
interface Typed {
  path: (string | number)[]
  takes: Kind[]
  strings?: fc.Arbitrary<string>
}
const text: Kind[] = ['string']
const number: Kind[] = ['integer', 'fraction']
const int: Kind[] = ['integer']
const durations = fc.stringMatching(/^[-+]?[0-9.]{0,3}(ns|us|µs|ms|s|m|h|d|x)?([0-9]{0,2}(s|m|h))?$/)
const thinks = fc.constantFrom('high', 'medium', 'low', 'HIGH', '', 'max', 'true')
const formats = fc.constantFrom('json', '', 'JSON', 'xml', '{}', 'null')

const nativeRuns: Typed[] = [
  { path: ['keep_alive'], takes: ['integer', 'fraction'], strings: durations },
  { path: ['format'], takes: ['object'], strings: formats },
  { path: ['options'], takes: ['object'] },
  { path: ['options', 'temperature'], takes: number },
  { path: ['options', 'top_k'], takes: number },
  { path: ['options', 'num_ctx'], takes: number },
  { path: ['options', 'use_mmap'], takes: ['bool'] },
  { path: ['options', 'stop'], takes: ['array'] },
]
const typedRoutes: { route: string; path: string; fields: Typed[] }[] = [
  {
    route: 'ollama.generate',
    path: '/typed/api/generate',
    fields: [
      ...nativeRuns,
      { path: ['prompt'], takes: text },
      { path: ['system'], takes: text },
      { path: ['raw'], takes: ['bool'] },
      { path: ['context'], takes: ['array'] },
      { path: ['think'], takes: ['bool'], strings: thinks },
    ],
  },
  {
    route: 'ollama.chat',
    path: '/typed/api/chat',
    fields: [
      ...nativeRuns,
      { path: ['messages'], takes: ['array'] },
      { path: ['messages', 0], takes: ['object'] },
      { path: ['messages', 0, 'content'], takes: text },
      { path: ['messages', 0, 'images'], takes: ['array'] },
      { path: ['messages', 0, 'tool_calls'], takes: ['array'] },
      { path: ['tools'], takes: ['array'] },
    ],
  },
  {
    route: 'ollama.embed',
    path: '/typed/api/embed',
    fields: [
      ...nativeRuns.slice(0, 1),
      { path: ['input'], takes: ['string', 'array'] },
      { path: ['truncate'], takes: ['bool'] },
    ],
  },
  {
    route: 'openai.chat_completions',
    path: '/typed/v1/chat/completions',
    fields: [
      { path: ['messages', 0, 'role'], takes: [] },
      { path: ['messages', 0, 'name'], takes: text },
      { path: ['messages', 0, 'tool_calls'], takes: ['array'] },
      { path: ['temperature'], takes: [] },
      { path: ['top_p'], takes: [] },
      { path: ['seed'], takes: int },
      { path: ['max_tokens'], takes: [] },
      { path: ['response_format'], takes: ['object'] },
      { path: ['tools'], takes: ['array'] },
      { path: ['logprobs'], takes: ['bool'] },
    ],
  },
]

/** A value of a kind the field does not take (numbers only of a kind Go refuses), or one of its parsed strings. */
function mutation(field: Typed): fc.Arbitrary<unknown> {
  // A number field of a range or enum (takes: []) gets only the kinds no number is: Go has no opinion on its range.
  const takes: Kind[] =
    field.takes.length === 0 ? ['integer', 'fraction', ...(field.path.at(-1) === 'role' ? text : [])] : field.takes
  const refused = allKinds.filter(
    (kind) => !takes.includes(kind) && !(kind === 'integer' && takes.includes('fraction')),
  )
  const options = refused.map((kind) => values[kind])
  if (field.strings) options.push(field.strings)
  return fc.oneof(...options)
}

/** The element parts Go's decoder sees inside arrays: a nested mutation for arrays of typed items. */
const nestedArrays: Record<string, fc.Arbitrary<unknown>> = {
  context: fc.constantFrom<unknown>([1.5], ['1'], [true]),
  images: fc.constantFrom<unknown>([1], [{}], [['x']]),
  tool_calls: fc.constantFrom<unknown>([{ function: { arguments: 'x' } }], [{ function: { name: 1 } }], [1]),
  stop: fc.constantFrom<unknown>([1], [true], [{}]),
  input: fc.constantFrom<unknown>([1], [{}], [['x']]),
  tools: fc.constantFrom<unknown>([{ function: { name: 1 } }], [{ type: 1 }], ['f']),
}

const aliases = new ModelAliases([])
const readers: Record<string, (body: Buffer) => RequestFields | GatewayError> = {
  'ollama.generate': (body) => readOllamaBody(body, 'generate', aliases),
  'ollama.chat': (body) => readOllamaBody(body, 'generate', aliases),
  'ollama.embed': (body) => readOllamaBody(body, 'embed', aliases),
  'openai.chat_completions': (body) => readOpenAiBody(body, 'completions', aliases),
}
const strict = { ollama: 'strict', openai: 'strict', full_parse_max_bytes: 1 << 20 } as const

const missing = goMissing()
t.test(
  'the gateway refuses a typed field exactly when Go does',
  { skip: missing ? `the Go decoder stand-in needs Go: ${missing}` : false },
  async (t) => {
    const standIn = await startGoDecoder(t)
    const counts = { bothTake: 0, bothRefuse: 0 }
    await holds(
      t,
      'validation and Go agree on typed fields',
      fc.asyncProperty(
        fc.nat(typedRoutes.length - 1).chain((index) => {
          const typed = typedRoutes[index]!
          const valid = routeCases.find((candidate) => candidate.route === typed.route)!.valid
          const field = fc.nat(typed.fields.length - 1).chain((at) => {
            const chosen = typed.fields[at]!
            const nested = nestedArrays[String(chosen.path.at(-1))]
            const bad = nested ? fc.oneof(mutation(chosen), nested) : mutation(chosen)
            return fc.tuple(fc.constant(chosen.path), bad)
          })
          return fc.tuple(fc.constant(index), valid, fc.option(field, { freq: 4 }))
        }),
        async ([index, valid, field]) => {
          const typed = typedRoutes[index]!
          const object = field ? broken(valid, field[0], field[1]) : valid
          const body = JSON.stringify(object)
          const [api, name] = typed.route.split('.') as [string, string]
          const ours = withValidation(readers[typed.route]!, { api, name }, () => strict)(Buffer.from(body))
          const response = await request(`${standIn}${typed.path}`, { method: 'POST', body })
          const goSays = await response.body.text()
          const goRefused = response.statusCode === 400
          const weRefused = ours instanceof GatewayError
          if (goRefused !== weRefused) {
            const why = weRefused ? ours.message : goSays
            throw new Error(
              `${typed.route}: Go ${goRefused ? 'refuses' : 'takes'}, we ${weRefused ? 'refuse' : 'take'} (${why}): ${body}`,
            )
          }
          counts[goRefused ? 'bothRefuse' : 'bothTake']++
        },
      ),
      1000,
      0.01,
    )
    t.comment(`both take: ${counts.bothTake}, both refuse: ${counts.bothRefuse}`)
    t.ok(counts.bothTake > 0 && counts.bothRefuse > 0, 'both verdicts occur')
  },
)
