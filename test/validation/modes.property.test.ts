// The validation modes, in-process on each route's reader with validation (readFields.ts withValidation): `off` gives
// exactly the verdict the gateway gave before validation existed (the field reader's); a body above
// full_parse_max_bytes gets that verdict too in any mode; `basic` takes whatever `strict` takes; and whatever the body
// (any JSON object, broken fields, odd values), validation answers a verdict, never an exception.
import fc from 'fast-check'
import t from 'tap'
import { readOllamaBody, type RequiredFields } from '../../src/api/ollamaBody.js'
import { readOpenAiBody, type OpenAiBody } from '../../src/api/openaiBody.js'
import { withValidation } from '../../src/api/readFields.js'
import type { RequestFields } from '../../src/api/requestFields.js'
import { GatewayError } from '../../src/errors.js'
import { ModelAliases } from '../../src/models/aliases.js'
import type { ValidationMode } from '../../src/validation/modes.js'
import type { ValidationSettings } from '../../src/validation/validator.js'
import { holds } from '../helpers/fuzz.js'
import { broken, routeCases } from '../helpers/validRequests.js'

const aliases = new ModelAliases([])
/** The route table's readers of each case's route (routeTable.ts). */
const native: Record<string, RequiredFields> = {
  generate: 'generate',
  chat: 'generate',
  embed: 'embed',
  embeddings: 'embed',
  show: 'named',
  delete: 'named',
  pull: 'transfer',
  push: 'transfer',
  create: 'create',
  copy: 'copy',
}
const openAi: Record<string, OpenAiBody> = {
  chat_completions: 'completions',
  completions: 'completions',
  embeddings: 'embeddings',
  responses: 'responses',
  messages: 'messages',
}

function readerOf(route: string): (body: Buffer) => RequestFields | GatewayError {
  const [api, name] = route.split('.') as [string, string]
  return api === 'ollama'
    ? (body) => readOllamaBody(body, native[name]!, aliases)
    : (body) => readOpenAiBody(body, openAi[name]!, aliases)
}

/** A verdict to compare: the refusal's code and message, or the fields read. */
function verdict(read: RequestFields | GatewayError): unknown {
  return read instanceof GatewayError ? { code: read.code, message: read.message } : read
}

const settings = (mode: ValidationMode, max = 1 << 20): ValidationSettings => ({
  ollama: mode,
  openai: mode,
  full_parse_max_bytes: max,
})

/** Bodies of every kind: valid, one field broken, and any JSON object with the route's model. */
const bodies = fc.nat(routeCases.length - 1).chain((index) => {
  const route = routeCases[index]!
  const breaks = route.breaks
  const brokenBody =
    breaks.length === 0
      ? route.valid
      : fc
          .tuple(route.valid, fc.nat(breaks.length - 1))
          .chain(([valid, at]) => breaks[at]!.bad.map((bad) => broken(valid, breaks[at]!.path, bad)))
  const anything = fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
    .map((object) => ({ model: 'm', ...object }))
  return fc.tuple(fc.constant(route.route), fc.oneof(route.valid, brokenBody, anything))
})

t.test('off gives the field reader verdict, on every body', async (t) => {
  await holds(
    t,
    'off is the reader',
    fc.property(bodies, ([route, object]) => {
      const read = readerOf(route)
      const [api, name] = route.split('.') as [string, string]
      const body = Buffer.from(JSON.stringify(object))
      const off = withValidation(read, { api, name }, () => settings('off'))
      if (JSON.stringify(verdict(off(body))) !== JSON.stringify(verdict(read(body)))) {
        throw new Error(`off changed the verdict on ${route}: ${body.toString()}`)
      }
    }),
    2000,
  )
})

t.test('a body above full_parse_max_bytes gets the field reader verdict in any mode', async (t) => {
  await holds(
    t,
    'large bodies are checked on the fields the gateway reads only',
    fc.property(bodies, fc.constantFrom<ValidationMode>('strict', 'basic'), ([route, object], mode) => {
      const read = readerOf(route)
      const [api, name] = route.split('.') as [string, string]
      const body = Buffer.from(JSON.stringify(object))
      const large = withValidation(read, { api, name }, () => settings(mode, body.length - 1))
      if (JSON.stringify(verdict(large(body))) !== JSON.stringify(verdict(read(body)))) {
        throw new Error(`a large body was validated on ${route}: ${body.toString()}`)
      }
    }),
    1000,
  )
})

t.test('basic takes what strict takes; neither throws', async (t) => {
  let refusedByStrict = 0
  await holds(
    t,
    'basic is looser than strict, and every verdict is fields or a 400',
    fc.property(bodies, ([route, object]) => {
      const read = readerOf(route)
      const [api, name] = route.split('.') as [string, string]
      const body = Buffer.from(JSON.stringify(object))
      const strict = withValidation(read, { api, name }, () => settings('strict'))(body)
      const basic = withValidation(read, { api, name }, () => settings('basic'))(body)
      for (const answer of [strict, basic]) {
        if (answer instanceof GatewayError && answer.status !== 400) {
          throw new Error(`${answer.status} ${answer.code} on ${route}: ${body.toString()}`)
        }
      }
      if (!(strict instanceof GatewayError) && basic instanceof GatewayError) {
        throw new Error(`basic refused what strict takes on ${route}: ${basic.message}: ${body.toString()}`)
      }
      if (strict instanceof GatewayError) refusedByStrict++
    }),
    2000,
  )
  t.ok(refusedByStrict > 0, `strict refused ${refusedByStrict} of the generated bodies`)
})
