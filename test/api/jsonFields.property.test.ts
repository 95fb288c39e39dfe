// Properties of the request body reader, on thousands of generated bodies: it never throws and every refusal is a
// coded 400; it accepts exactly the JSON that JSON.parse (and Go) accept, up to Go's depth; on the checked fields it
// agrees with a model of Go's decoding (exact keys, folded keys, duplicates); its rewrites are valid JSON that change
// only what they must.
import fc from 'fast-check'
import t from 'tap'
import { foldsOnto, readJsonFields } from '../../src/api/jsonFields.js'
import { readOllamaBody, type RequiredFields } from '../../src/api/ollamaBody.js'
import { readOpenAiBody, type OpenAiBody } from '../../src/api/openaiBody.js'
import { tokenLimitRange, type RequestFields } from '../../src/api/requestFields.js'
import { GatewayError } from '../../src/errors.js'
import { ModelAliases } from '../../src/models/aliases.js'
import { holds } from '../helpers/fuzz.js'

const aliases = new ModelAliases([{ alias: 'nice-alias', model: 'allowed-model' }])
const nativeShapes: RequiredFields[] = ['generate', 'embed', 'named', 'transfer', 'create', 'copy']
const openAiKinds: OpenAiBody[] = ['completions', 'embeddings', 'responses', 'messages']

/** JSON-ish text: valid JSON, and JSON with a few characters inserted, removed or replaced. */
const mutated = fc
  .tuple(
    fc.json({ depthSize: 'small' }),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', '0', '-', 'e', '\u0000', '\n', 'x', ''),
      ),
    ),
  )
  .map(([json, edits]) => {
    let text = json
    for (const [at, char] of edits) {
      const index = text.length === 0 ? 0 : at % text.length
      text = text.slice(0, index) + char + text.slice(index + (char === '' ? 1 : 0))
    }
    return text
  })

function accepted(result: RequestFields | GatewayError): result is RequestFields {
  if (result instanceof GatewayError) {
    if (result.status !== 400 || !['invalid_json', 'invalid_request'].includes(result.code)) {
      throw new Error(`refused without a 400 code: ${result.code} ${result.message}`)
    }
    return false
  }
  for (const model of result.models) if (typeof model !== 'string' || model === '') throw new Error('empty model')
  const { predict } = result
  if (predict !== undefined && !(Number.isInteger(predict) && predict > 0 && predict <= tokenLimitRange.max)) {
    throw new Error(`predict ${predict}`)
  }
  return true
}

t.test('any bytes: no exception, every refusal a coded 400, every number sane', async (t) => {
  await holds(
    t,
    'reader total on any input',
    fc.property(
      fc.oneof(
        mutated,
        fc.string(),
        fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('latin1')),
      ),
      (text) => {
        const body = Buffer.from(text)
        for (const shape of nativeShapes) accepted(readOllamaBody(body, shape, aliases))
        for (const kind of openAiKinds) accepted(readOpenAiBody(body, kind, aliases))
      },
    ),
    3000,
  )
})

t.test('validity is JSON.parse’s (which is Go’s grammar)', async (t) => {
  await holds(
    t,
    'valid exactly when JSON.parse accepts an object',
    fc.property(fc.oneof(mutated, fc.json()), (text) => {
      let parsed: unknown
      let valid = true
      try {
        parsed = JSON.parse(text)
      } catch {
        valid = false
      }
      const read = readJsonFields(Buffer.from(text), { fields: [], folds: true })
      const isObject = valid && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      if (isObject === read instanceof GatewayError) {
        throw new Error(
          `JSON.parse ${valid ? 'accepts' : 'refuses'} ${JSON.stringify(text)}, reader: ${read instanceof GatewayError ? read.message : 'accepted'}`,
        )
      }
    }),
    5000,
  )
})

/** How a key may be spelled: what Go decodes it to, and how it is written in the body. */
const foldRunes: Record<string, string> = { k: '\u212a', s: '\u017f', i: '\u0131', I: '\u0130' }
function spelling(name: string): fc.Arbitrary<{ decoded: string; raw: string }> {
  return fc
    .array(fc.constantFrom(0, 0, 0, 0, 1, 2, 3), { minLength: name.length, maxLength: name.length })
    .map((choices) => {
      let decoded = ''
      let raw = ''
      choices.forEach((choice, index) => {
        let char = name[index]!
        if (choice === 1) char = char.toUpperCase()
        if (choice === 2) char = foldRunes[char] ?? foldRunes[char.toUpperCase()] ?? char
        decoded += char
        raw += choice === 3 ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : char
      })
      return { decoded, raw: `"${raw}"` }
    })
}

const checked = ['model', 'stream', 'max_tokens', 'stream_options', 'max_completion_tokens'] as const
const values: Record<(typeof checked)[number] | 'other', fc.Arbitrary<[unknown, string]>> = {
  model: fc.constantFrom('allowed-model', 'nice-alias', 'other:1').map((name) => [name, JSON.stringify(name)]),
  stream: fc.boolean().map((flag) => [flag, String(flag)]),
  max_tokens: fc.integer({ min: -2, max: 5000 }).map((limit) => [limit, String(limit)]),
  max_completion_tokens: fc.integer({ min: 0, max: 5000 }).map((limit) => [limit, String(limit)]),
  stream_options: fc
    .option(fc.boolean())
    .map((usage) => [{ include_usage: usage }, usage === null ? '{}' : `{"include_usage":${usage}}`]),
  other: fc.jsonValue({ maxDepth: 2 }).map((value) => [value, JSON.stringify(value)]),
}
const entry = fc.oneof(
  ...checked.map((name) => fc.tuple(spelling(name), values[name])),
  fc.tuple(
    fc.constantFrom('prompt', 'messages', 'temperature', 'x').map((name) => ({ decoded: name, raw: `"${name}"` })),
    values.other,
  ),
)

t.test('checked fields agree with a model of Go’s decoding', async (t) => {
  await holds(
    t,
    'the gateway reads what Go reads, or refuses',
    fc.property(fc.array(entry, { maxLength: 7 }), (entries) => {
      const body = Buffer.from(`{${entries.map(([key, [, raw]]) => `${key.raw}:${raw}`).join(',')}}`)
      const read = readOpenAiBody(body, 'completions', aliases)
      // The model: Go matches exact names, else folded ones; the gateway must refuse folded ones and repeats.
      const byName = new Map<string, unknown[]>()
      let ambiguous = false
      for (const [key, [value]] of entries) {
        for (const name of checked) {
          if (key.decoded === name) byName.set(name, [...(byName.get(name) ?? []), value])
          else if (foldsOnto(key.decoded, name)) ambiguous = true
        }
      }
      const repeated = [...byName.values()].some((list) => list.length > 1)
      const model = byName.get('model')?.[0] as string | undefined
      if (ambiguous || repeated || model === undefined) {
        if (!(read instanceof GatewayError)) throw new Error(`accepted ${body.toString()}`)
        return
      }
      if (read instanceof GatewayError) throw new Error(`refused ${body.toString()}: ${read.message}`)
      const stream = byName.get('stream')?.[0] === true
      const limit = byName.get('max_tokens')?.[0] as number | undefined
      const expected = {
        models: [aliases.targetOf(model) ?? model],
        stream,
        predict: limit !== undefined && limit > 0 ? limit : undefined,
      }
      if (JSON.stringify([read.models, read.stream, read.predict]) !== JSON.stringify(Object.values(expected))) {
        throw new Error(`read ${JSON.stringify(read)} from ${body.toString()}, Go reads ${JSON.stringify(expected)}`)
      }
      // What is sent: valid JSON, the model that runs, usage asked for when streamed, everything else untouched.
      const sent = JSON.parse((read.rewritten ?? body).toString())
      const original = JSON.parse(body.toString())
      if (sent.model !== expected.models[0]) throw new Error(`sent model ${sent.model}`)
      if (stream && sent.stream_options?.include_usage !== true)
        throw new Error(`no include_usage: ${JSON.stringify(sent)}`)
      for (const object of [sent, original]) {
        delete object.model
        delete object.stream_options
      }
      if (JSON.stringify(sent) !== JSON.stringify(original)) throw new Error(`changed ${JSON.stringify(sent)}`)
    }),
    5000,
  )
})

/**
 * Long strings: runs of plain bytes long enough for the native skip (see skipRun), broken by what it must stop at or
 * hand back (escapes, raw control characters, raw quotes, bytes outside ASCII, invalid UTF-8), in a body at every
 * alignment (the skip reads four bytes at a time). Valid exactly when JSON.parse accepts it; the checked string is the
 * text JSON.parse decodes (which replaces invalid UTF-8 as Go does).
 */
const plainRun = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '+', '/', '=', ' ', '~'), maxLength: 300 })
const breaks = ['\\n', '\\"', '\\\\', '\\u00e9', '\\ud83d\\ude00', '\\x', '\\u12g4', '\u0001', '\u001f', '\t', '"']
const rawBreaks = [Buffer.from('é€'), Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0x7f])]
const longString = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: plainRun.map((text) => Buffer.from(text)) },
      fc.constantFrom(...breaks).map((text) => Buffer.from(text)),
      fc.constantFrom(...rawBreaks),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Buffer.concat(parts))

t.test('long strings: skipped natively, refused and decoded exactly as before', async (t) => {
  await holds(
    t,
    'long strings read as JSON.parse reads them',
    fc.property(longString, longString, fc.nat(7), fc.nat(3), (checkedText, otherText, shift, spaces) => {
      const json = Buffer.concat([
        Buffer.from(`${' '.repeat(spaces)}{"other":"`),
        otherText,
        Buffer.from('","model":"'),
        checkedText,
        Buffer.from('"}'),
      ])
      // The same bytes at another offset in their ArrayBuffer (a body may be any slice of one).
      const body = Buffer.alloc(json.length + shift).subarray(shift)
      json.copy(body)
      let parsed: { model?: unknown } | undefined
      try {
        parsed = JSON.parse(body.toString())
      } catch {
        parsed = undefined
      }
      const read = readJsonFields(body, { fields: [{ name: 'model', type: 'string' }], folds: true })
      if (read instanceof GatewayError) {
        if (parsed !== undefined) throw new Error(`refused ${JSON.stringify(body.toString())}: ${read.message}`)
        return
      }
      if (parsed === undefined) throw new Error(`accepted ${JSON.stringify(body.toString())}`)
      if (read[0]?.value !== parsed.model) {
        throw new Error(`read ${JSON.stringify(read[0]?.value)}, JSON.parse ${JSON.stringify(parsed.model)}`)
      }
    }),
    3000,
  )
})
