// The reader of request fields on the exact attacks of the review (issue 11), and the fold table it relies on.
import { spawnSync } from 'node:child_process'
import t, { type Test } from 'tap'
import { GatewayError } from '../../src/errors.js'
import { foldsOnto, foldsToAscii, maxJsonDepth } from '../../src/api/jsonFields.js'
import { readOllamaBody, type RequiredFields } from '../../src/api/ollamaBody.js'
import { readOpenAiBody, type OpenAiBody } from '../../src/api/openaiBody.js'
import { maxModelNameLength } from '../../src/api/requestFields.js'
import { ModelAliases } from '../../src/models/aliases.js'
import { goMissing } from '../helpers/goDecoder.js'
import { projectPath } from '../helpers/projectPath.js'

const aliases = new ModelAliases([{ alias: 'gpt-4o-mini', model: 'llama3.2:3b' }])
const native = (body: string, shape: RequiredFields = 'generate') => readOllamaBody(Buffer.from(body), shape, aliases)
const openai = (body: string, kind: OpenAiBody = 'completions') => readOpenAiBody(Buffer.from(body), kind, aliases)

function refused(t: Test, result: unknown, code: string, message: RegExp, what: string): void {
  t.ok(result instanceof GatewayError, `${what}: refused`)
  t.match(result, { code, status: 400, message }, what)
}

t.test('the fold table is what Go folds onto ASCII letters (both Go generations)', async (t) => {
  t.same(
    [...foldsToAscii].map(([rune, letter]) => [rune.toString(16), String.fromCharCode(letter)]),
    [
      ['130', 'I'],
      ['131', 'I'],
      ['17f', 'S'],
      ['212a', 'K'],
    ],
  )
  const missing = goMissing()
  if (missing) {
    t.comment(`regenerating the table needs Go, skipped: ${missing}`)
    return
  }
  const generator = projectPath('test/helpers/goFold')
  const run = spawnSync('go', ['run', '.'], { cwd: generator, encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  const fromGo = new Map<number, number>()
  for (const line of run.stdout.trim().split('\n')) {
    const [, rune, letter] = line.split(' ')
    fromGo.set(parseInt(rune!, 16), letter!.charCodeAt(0))
  }
  t.same([...fromGo].sort(), [...foldsToAscii].sort(), 'every rune Go folds onto ASCII, and no other')
})

t.test('keys Go would read as a checked field are refused, naming the key', async (t) => {
  const cases: [string, string, () => unknown][] = [
    [
      'Model',
      '{"model":"llama3.2:3b","Model":"forbidden"}',
      () => native('{"model":"llama3.2:3b","Model":"forbidden"}'),
    ],
    ['mODEL', '/v1', () => openai('{"model":"llama3.2:3b","mODEL":"forbidden"}')],
    ['naMe', 'show', () => native('{"model":"llama3.2:3b","naMe":"forbidden"}', 'named')],
    ['ſtream', 'long s', () => openai('{"model":"m","stream":false,"ſtream":true}')],
    ['\u212Aey', 'Kelvin sign', () => openai('{"model":"m","max_to\u212Aens":5}')],
    [
      'İnclude',
      'dotted I (Go ≥ 1.21)',
      () => openai('{"model":"m","stream":true,"stream_options":{"İnclude_usage":false}}'),
    ],
    [
      'ınclude',
      'dotless i (Go ≥ 1.21)',
      () => openai('{"model":"m","stream":true,"stream_options":{"ınclude_usage":false}}'),
    ],
    ['Stream_Options', 'nested struct', () => openai('{"model":"m","stream":true,"Stream_Options":{}}')],
    ['escaped', 'an escape that decodes to a folded key', () => native('{"model":"m","\\u004dodel":"x"}')],
    ['From', 'create', () => native('{"model":"m","From":"forbidden"}', 'create')],
    ['Source', 'copy', () => native('{"source":"a","destination":"b","Source":"c"}', 'copy')],
  ]
  for (const [, what, read] of cases) refused(t, read(), 'invalid_request', /is read by Ollama as "/, what)
  // Go decodes escapes in keys first: "mod\u0065l" IS model, to Go and to the gateway.
  t.match(native('{"mod\\u0065l":"llama3.2:3b"}'), { models: ['llama3.2:3b'] })
  // options is a Go map: its keys are exact, a folded spelling is another (ignored) option to Ollama too.
  t.match(native('{"model":"m","options":{"NUM_PREDICT":5,"num_predict":7}}'), { predict: 7 })
  t.ok(foldsOnto('\u212Aey', 'key') && foldsOnto('ſ', 's') && !foldsOnto('keys', 'key') && !foldsOnto('\u00e5', 'a'))
})

t.test('checked keys given twice are refused (Go merges objects and ignores nulls)', async (t) => {
  refused(t, native('{"model":"a","model":"b"}'), 'invalid_request', /"model" is given more than once/, 'model')
  refused(
    t,
    native('{"model":"a","options":{"num_predict":5},"options":{}}'),
    'invalid_request',
    /"options"/,
    'options',
  )
  refused(
    t,
    openai('{"model":"a","stream":true,"stream_options":{"include_usage":true},"stream_options":null}'),
    'invalid_request',
    /"stream_options" is given more than once/,
    'stream_options',
  )
  refused(t, native('{"model":"a","model":null}'), 'invalid_request', /more than once/, 'a null second')
})

t.test('types are the ones Go wants', async (t) => {
  refused(t, native('{"model":42}'), 'invalid_request', /model is required: "model" must be a string/, 'model')
  refused(t, native('{"model":"m","stream":"yes"}'), 'invalid_request', /"stream" must be true or false/, 'stream')
  refused(t, native('{"model":"m","options":[1]}'), 'invalid_request', /"options" must be an object/, 'options')
  refused(t, openai('{"model":"m","stream":true,"stream_options":"x"}'), 'invalid_request', /must be an object/, 'so')
  refused(
    t,
    native('{"model":"m","options":{"num_predict":"5"}}'),
    'invalid_request',
    /num_predict" must be a number/,
    '',
  )
  t.match(openai('{"model":"m","stream":null}'), { stream: false }, 'null is false to a Go bool')
  t.match(native('{"model":"m","stream":null}'), { stream: true }, 'null is "not set" to a Go *bool')
})

t.test('token limits: finite integers in range, else a 400 naming the field', async (t) => {
  for (const [body, field] of [
    ['{"model":"m","options":{"num_predict":1e300}}', 'options.num_predict'],
    ['{"model":"m","options":{"num_predict":1e999}}', 'options.num_predict'],
    ['{"model":"m","options":{"num_predict":1.5}}', 'options.num_predict'],
    ['{"model":"m","options":{"num_predict":-3}}', 'options.num_predict'],
    ['{"model":"m","options":{"num_predict":2147483648}}', 'options.num_predict'],
  ] as const) {
    refused(t, native(body), 'invalid_request', new RegExp(`"${field}" must be an integer from -2 to 2147483647`), body)
  }
  for (const [body, kind, field] of [
    ['{"model":"m","max_tokens":1e300}', 'completions', 'max_tokens'],
    ['{"model":"m","max_tokens":1e3}', 'completions', 'max_tokens'],
    ['{"model":"m","max_tokens":1.0}', 'completions', 'max_tokens'],
    ['{"model":"m","max_completion_tokens":1e999}', 'completions', 'max_completion_tokens'],
    ['{"model":"m","max_output_tokens":-7}', 'responses', 'max_output_tokens'],
    ['{"model":"m","max_tokens":99999999999}', 'messages', 'max_tokens'],
  ] as const) {
    refused(t, openai(body, kind), 'invalid_request', new RegExp(`"${field}" must be an integer`), body)
  }
  t.match(native('{"model":"m","options":{"num_predict":1e3}}'), { predict: 1000 }, 'num_predict goes through a float')
  t.match(native('{"model":"m","options":{"num_predict":-0}}'), { predict: undefined }, '-0: no limit')
  t.match(native('{"model":"m","options":{"num_predict":-1}}'), { predict: undefined }, '-1: no limit')
  t.match(openai('{"model":"m","max_tokens":300}'), { predict: 300 })
  t.match(openai('{"model":"m","max_completion_tokens":300}'), { predict: undefined }, 'Ollama applies max_tokens only')
})

t.test('bounds: model names Ollama cannot have, JSON deeper than Go reads', async (t) => {
  const long = 'x'.repeat(maxModelNameLength + 1)
  refused(t, native(`{"model":"${long}"}`), 'invalid_request', /at most 673/, 'a long name')
  refused(t, native(`{"model":"${'x'.repeat(900 * 1024)}"}`), 'invalid_request', /too long/, 'a 900 KB name')
  refused(t, native('{"model":"llama3\\u0000"}'), 'invalid_request', /not a model name/, 'a control character')
  refused(t, native('{"model":"\\ud800"}'), 'invalid_request', /not a model name/, 'a lone surrogate')
  refused(t, native('{"model":"\u212Aimi"}'), 'invalid_request', /not a model name/, 'non-ASCII')
  t.match(native(`{"model":"${'x'.repeat(maxModelNameLength)}"}`), { models: ['x'.repeat(maxModelNameLength)] })
  const nested = (depth: number) => `{"model":"m","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`
  t.match(native(nested(maxJsonDepth)), { models: ['m'] }, 'as deep as Go reads')
  refused(t, native(nested(maxJsonDepth + 1)), 'invalid_json', /nested deeper than 10000/, 'one level deeper')
  refused(t, openai(nested(100_000)), 'invalid_json', /nested deeper than 10000/, '100k deep on /v1 (was a 500)')
  refused(t, native('{"model":"m"} {"model":"x"}'), 'invalid_json', /unexpected data after the object/, 'two values')
})

t.test('/api/create: model, from and every Modelfile FROM are named; path is refused', async (t) => {
  t.match(native('{"model":"mine","from":"llama3.2:3b"}', 'create'), { models: ['mine', 'llama3.2:3b'] })
  const modelfile =
    'FROM base:1\\nSYSTEM \\"\\"\\"\\nfrom now on, be brief\\n\\"\\"\\"\\n  from \\"other:2\\"\\r\\nPARAMETER stop x'
  t.match(native(`{"name":"mine","modelfile":"${modelfile}"}`, 'create'), { models: ['mine', 'base:1', 'other:2'] })
  refused(t, native('{"model":"mine","modelfile":"FROM \\"\\"\\"x"}', 'create'), 'invalid_request', /never closes/, '')
  refused(
    t,
    native('{"model":"mine","path":"/etc/Modelfile"}', 'create'),
    'invalid_request',
    /"path" is not accepted/,
    '',
  )
  t.match(native('{"model":"","name":"legacy"}', 'named'), { models: ['legacy'] }, 'cmp.Or(model, name)')
  t.match(native('{"source":"a","destination":"b"}', 'copy'), { models: ['a', 'b'] })
  // Management routes do not resolve aliases: the name is checked as Ollama will use it.
  t.match(readOllamaBody(Buffer.from('{"model":"m","from":"gpt-4o-mini"}'), 'create'), { models: ['m', 'gpt-4o-mini'] })
})

t.test('rewrites edit the bytes: the rest of the body reaches Ollama as sent', async (t) => {
  const body = '{"model":"gpt-4o-mini","seed":12345678901234567890,"stream":true,"stream_options":{"x":1}}'
  const read = openai(body) as { rewritten: Buffer; clientWantsUsage: boolean }
  t.equal(
    read.rewritten.toString(),
    '{"model":"llama3.2:3b","seed":12345678901234567890,"stream":true,"stream_options":{"include_usage":true,"x":1}}',
  )
  t.equal(read.clientWantsUsage, false)
  const asked = openai('{"model":"m","stream":true,"stream_options":{"include_usage":true}}')
  t.match(asked, { clientWantsUsage: true, rewritten: undefined })
})
