// Generated request bodies for the validation tests: for each route with a schema, bodies that real clients send and
// that the strict schema takes, and ways to break one field of such a body (with the JSON pointer the refusal must
// name). Values are built as JavaScript and sent through JSON.stringify, as client libraries do.
import fc from 'fast-check'

export interface RouteCase {
  /** `<api>.<name>` as the route table names it. */
  route: string
  /** The path the test posts to, and the method. */
  path: string
  method: 'POST' | 'DELETE'
  dialect: 'ollama' | 'openai' | 'anthropic'
  /** Bodies the strict schema takes. */
  valid: fc.Arbitrary<Record<string, unknown>>
  /** Fields to break: a pointer into a valid body (its parent always exists) and values it must refuse there. */
  breaks: Break[]
}

export interface Break {
  path: (string | number)[]
  bad: fc.Arbitrary<unknown>
}

const model = fc.constantFrom('m', 'llama3.2:3b', 'qwen2.5:0.5b')
const text = fc.string({ maxLength: 30 })
const bool = fc.boolean()
const unit = fc.double({ min: 0, max: 1, noNaN: true })
/** The values no typed field takes: a field refuses those of its kind's complement. */
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant([1]), fc.constant({ a: 1 }))
const notNumber = fc.oneof(text, fc.boolean(), fc.constant([1]), fc.constant({ a: 1 }))
const notBool = fc.oneof(text, fc.integer(), fc.constant([true]), fc.constant({}))
const notArray = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant({ a: 1 }))
const notObject = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant([{}]))
const fraction = fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((value) => !Number.isInteger(value))

const nativeOptions = fc.record(
  {
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: unit,
    top_k: fc.integer({ min: -1, max: 100 }),
    num_predict: fc.integer({ min: -2, max: 4096 }),
    num_ctx: fc.integer({ min: 0, max: 131072 }),
    seed: fc.integer(),
    stop: fc.array(text, { maxLength: 3 }),
    repeat_penalty: fc.double({ min: 0, max: 2, noNaN: true }),
    use_mmap: bool,
  },
  { requiredKeys: [] },
)
const keepAlive = fc.constantFrom<unknown>('5m', '1h30m', '0', '-1s', '.5s', 300, -1, 0, 2.5, null)
const format = fc.constantFrom<unknown>('json', '', { type: 'object', properties: { a: { type: 'string' } } })
const think = fc.constantFrom<unknown>(true, false, 'high', 'medium', 'low')
const image = fc.constantFrom('iVBORw0KGgo=', 'AAAA', '')
const nativeTool = fc.record({
  type: fc.constant('function'),
  function: fc.record({
    name: fc.constantFrom('get_weather', 'lookup'),
    description: text,
    parameters: fc.constant({
      type: 'object',
      required: ['city'],
      properties: { city: { type: 'string', description: 'a city' }, days: { type: ['integer', 'null'] } },
    }),
  }),
})
const nativeMessage = fc.record(
  {
    role: fc.constantFrom('system', 'user', 'assistant', 'tool'),
    content: text,
    images: fc.array(image, { maxLength: 2 }),
    tool_calls: fc.array(
      fc.record({
        function: fc.record({ name: fc.constant('get_weather'), arguments: fc.constant({ city: 'Oslo' }) }),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: ['role', 'content'] },
)

const nativeChat = fc.record(
  {
    model,
    messages: fc.array(nativeMessage, { minLength: 1, maxLength: 4 }),
    stream: bool,
    options: nativeOptions,
    keep_alive: keepAlive,
    format,
    think,
    tools: fc.array(nativeTool, { maxLength: 2 }),
  },
  { requiredKeys: ['model', 'messages', 'options'] },
)
const nativeGenerate = fc.record(
  {
    model,
    prompt: text,
    system: text,
    suffix: text,
    images: fc.array(image, { maxLength: 2 }),
    context: fc.array(fc.integer({ min: 0, max: 1e6 }), { maxLength: 4 }),
    raw: bool,
    stream: bool,
    options: nativeOptions,
    keep_alive: keepAlive,
    format,
    think,
  },
  { requiredKeys: ['model', 'options'] },
)
const nativeEmbed = fc.record(
  {
    model,
    input: fc.oneof(text, fc.array(text, { maxLength: 3 })),
    truncate: bool,
    dimensions: fc.integer({ min: 1, max: 4096 }),
    keep_alive: keepAlive,
    options: nativeOptions,
  },
  { requiredKeys: ['model', 'options'] },
)

const messageBreaks: Break[] = [
  { path: ['messages', 0, 'role'], bad: fc.oneof(notString, fc.constantFrom('bot', 'User', 'moderator', null)) },
  { path: ['messages', 0, 'content'], bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant({ a: 1 })) },
  { path: ['messages', 0], bad: notObject },
]
const optionBreaks: Break[] = [
  { path: ['options', 'temperature'], bad: fc.oneof(notNumber, fc.double({ max: -0.001, noNaN: true })) },
  { path: ['options', 'top_p'], bad: fc.oneof(notNumber, fc.double({ min: 1.001, max: 1e9, noNaN: true })) },
  { path: ['options', 'stop'], bad: fc.oneof(notArray, fc.constant([1, 2])) },
  { path: ['options', 'use_mmap'], bad: notBool },
  { path: ['options', 'top_k'], bad: notNumber },
]
const nativeRunBreaks: Break[] = [
  {
    path: ['keep_alive'],
    bad: fc.oneof(fc.boolean(), fc.constant([]), fc.constant({}), fc.constantFrom('5x', '-1', '')),
  },
  {
    path: ['format'],
    bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant(['json']), fc.constantFrom('xml', 'JSON')),
  },
  { path: ['think'], bad: fc.oneof(fc.integer(), fc.constant({}), fc.constantFrom('max', 'yes')) },
  { path: ['options'], bad: notObject },
]

const openAiMessage = fc.record(
  {
    role: fc.constantFrom('system', 'developer', 'user', 'assistant'),
    content: fc.oneof(
      text,
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('text'), text }),
          fc.record({
            type: fc.constant('image_url'),
            image_url: fc.oneof(
              fc.constant('data:image/png;base64,iVBORw0KGgo='),
              fc.record({ url: fc.constant('data:image/png;base64,AAAA'), detail: fc.constantFrom('auto', 'low') }),
            ),
          }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    name: fc.constantFrom('alice', 'bob'),
  },
  { requiredKeys: ['role', 'content'] },
)
const openAiTool = fc.record({
  type: fc.constant('function'),
  function: fc.record({
    name: fc.constantFrom('get_weather', 'lookup'),
    description: text,
    parameters: fc.constant({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
  }),
})
const openAiChat = fc.record(
  {
    model,
    messages: fc.array(openAiMessage, { minLength: 1, maxLength: 4 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: unit,
    presence_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    frequency_penalty: fc.double({ min: -2, max: 2, noNaN: true }),
    n: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer(),
    stop: fc.oneof(text, fc.array(text, { maxLength: 4 })),
    max_tokens: fc.integer({ min: 1, max: 4096 }),
    response_format: fc.oneof(
      fc.record({ type: fc.constantFrom('text', 'json_object') }),
      fc.record({
        type: fc.constant('json_schema'),
        json_schema: fc.record({ name: fc.constant('answer'), schema: fc.constant({ type: 'object' }) }),
      }),
    ),
    tools: fc.array(openAiTool, { maxLength: 2 }),
    tool_choice: fc.constantFrom<unknown>('auto', 'none', { type: 'function', function: { name: 'lookup' } }),
    user: text,
  },
  { requiredKeys: ['model', 'messages'] },
)
const samplingBreaks: Break[] = [
  { path: ['temperature'], bad: fc.oneof(notNumber, fc.double({ min: 2.001, max: 1e6, noNaN: true })) },
  { path: ['top_p'], bad: fc.oneof(notNumber, fc.double({ min: -1e6, max: -0.001, noNaN: true })) },
  { path: ['presence_penalty'], bad: fc.oneof(notNumber, fc.double({ min: 2.001, max: 1e6, noNaN: true })) },
  { path: ['frequency_penalty'], bad: fc.oneof(notNumber, fc.double({ min: -1e6, max: -2.001, noNaN: true })) },
  { path: ['n'], bad: fc.oneof(notNumber, fraction, fc.integer({ min: -100, max: 0 })) },
  { path: ['stop'], bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant({}), fc.constant([1])) },
  { path: ['seed'], bad: fc.oneof(notNumber, fraction) },
  { path: ['user'], bad: notString },
]

export const routeCases: RouteCase[] = [
  {
    route: 'ollama.chat',
    path: '/api/chat',
    method: 'POST',
    dialect: 'ollama',
    valid: nativeChat,
    breaks: [
      ...messageBreaks,
      { path: ['messages', 0, 'images'], bad: fc.oneof(notArray, fc.constant([1])) },
      {
        path: ['messages', 0, 'tool_calls'],
        bad: fc.oneof(notArray, fc.constant([{ function: { arguments: '{}' } }])),
      },
      { path: ['messages'], bad: notArray },
      { path: ['tools'], bad: fc.oneof(notArray, fc.constant([{ type: 'function', function: {} }])) },
      ...optionBreaks,
      ...nativeRunBreaks,
    ],
  },
  {
    route: 'ollama.generate',
    path: '/api/generate',
    method: 'POST',
    dialect: 'ollama',
    valid: nativeGenerate,
    breaks: [
      { path: ['prompt'], bad: notString },
      { path: ['system'], bad: notString },
      { path: ['images'], bad: fc.oneof(notArray, fc.constant([{}])) },
      { path: ['context'], bad: fc.oneof(notArray, fc.constant([1.5]), fc.constant(['1'])) },
      { path: ['raw'], bad: notBool },
      ...optionBreaks,
      ...nativeRunBreaks,
    ],
  },
  {
    route: 'ollama.embed',
    path: '/api/embed',
    method: 'POST',
    dialect: 'ollama',
    valid: nativeEmbed,
    breaks: [
      { path: ['input'], bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant({}), fc.constant([1])) },
      { path: ['truncate'], bad: notBool },
      { path: ['dimensions'], bad: fc.oneof(notNumber, fraction, fc.integer({ min: -100, max: -1 })) },
      ...optionBreaks,
    ],
  },
  {
    route: 'ollama.embeddings',
    path: '/api/embeddings',
    method: 'POST',
    dialect: 'ollama',
    valid: fc.record({ model, prompt: text, keep_alive: keepAlive }, { requiredKeys: ['model'] }),
    breaks: [
      { path: ['prompt'], bad: notString },
      { path: ['keep_alive'], bad: fc.oneof(fc.boolean(), fc.constant({})) },
    ],
  },
  {
    route: 'ollama.show',
    path: '/api/show',
    method: 'POST',
    dialect: 'ollama',
    valid: fc.record({ model, verbose: bool }, { requiredKeys: ['model'] }),
    breaks: [{ path: ['verbose'], bad: notBool }],
  },
  {
    route: 'ollama.pull',
    path: '/api/pull',
    method: 'POST',
    dialect: 'ollama',
    valid: fc.record({ model, insecure: bool, stream: bool }, { requiredKeys: ['model'] }),
    breaks: [
      { path: ['insecure'], bad: notBool },
      { path: ['username'], bad: notString },
    ],
  },
  {
    route: 'ollama.copy',
    path: '/api/copy',
    method: 'POST',
    dialect: 'ollama',
    valid: fc.record({ source: model, destination: fc.constantFrom('m-copy', 'backup:1') }),
    breaks: [],
  },
  {
    route: 'ollama.create',
    path: '/api/create',
    method: 'POST',
    dialect: 'ollama',
    valid: fc.record(
      {
        model: fc.constantFrom('made', 'made:v2'),
        from: model,
        system: text,
        template: text,
        quantize: fc.constantFrom('q4_K_M', 'q8_0'),
        parameters: fc.constant({ temperature: 0.5, stop: ['</s>'] }),
        license: fc.oneof(text, fc.array(text, { maxLength: 2 })),
        stream: bool,
      },
      { requiredKeys: ['model', 'from'] },
    ),
    breaks: [
      { path: ['system'], bad: notString },
      { path: ['parameters'], bad: notObject },
      { path: ['license'], bad: fc.oneof(fc.integer(), fc.constant({}), fc.constant([1])) },
      { path: ['quantize'], bad: notString },
    ],
  },
  {
    route: 'ollama.delete',
    path: '/api/delete',
    method: 'DELETE',
    dialect: 'ollama',
    valid: fc.record({ model }),
    breaks: [],
  },
  {
    route: 'openai.chat_completions',
    path: '/v1/chat/completions',
    method: 'POST',
    dialect: 'openai',
    valid: openAiChat,
    breaks: [
      ...messageBreaks.map((broken) =>
        broken.path[2] === 'role'
          ? { ...broken, bad: fc.oneof(notString, fc.constantFrom('bot', 'User', null)) }
          : broken,
      ),
      { path: ['messages'], bad: fc.oneof(notArray, fc.constant(null)) },
      { path: ['messages', 0, 'content'], bad: fc.constant([{ type: 'video', video: 'x' }]) },
      { path: ['messages', 0, 'tool_calls'], bad: fc.oneof(notArray, fc.constant([{ function: { arguments: {} } }])) },
      ...samplingBreaks,
      { path: ['response_format'], bad: fc.oneof(notObject, fc.constant({ type: 'xml' }), fc.constant({})) },
      { path: ['tools'], bad: fc.oneof(notArray, fc.constant([{ type: 'function' }])) },
      { path: ['tool_choice'], bad: fc.oneof(fc.integer(), fc.constantFrom('always', 'any')) },
      { path: ['logprobs'], bad: notBool },
      { path: ['top_logprobs'], bad: fc.oneof(notNumber, fc.integer({ min: 21, max: 1000 })) },
    ],
  },
  {
    route: 'openai.completions',
    path: '/v1/completions',
    method: 'POST',
    dialect: 'openai',
    valid: fc.record(
      {
        model,
        prompt: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 2 })),
        temperature: fc.double({ min: 0, max: 2, noNaN: true }),
        max_tokens: fc.integer({ min: 1, max: 4096 }),
        echo: bool,
        suffix: text,
      },
      { requiredKeys: ['model', 'prompt'] },
    ),
    breaks: [
      { path: ['prompt'], bad: fc.oneof(fc.boolean(), fc.constant({}), fc.constant([true])) },
      ...samplingBreaks,
      { path: ['echo'], bad: notBool },
    ],
  },
  {
    route: 'openai.embeddings',
    path: '/v1/embeddings',
    method: 'POST',
    dialect: 'openai',
    valid: fc.record(
      {
        model,
        input: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { minLength: 1 })),
        encoding_format: fc.constantFrom('float', 'base64'),
        dimensions: fc.integer({ min: 1, max: 4096 }),
      },
      { requiredKeys: ['model', 'input'] },
    ),
    breaks: [
      { path: ['input'], bad: fc.oneof(fc.boolean(), fc.constant({}), fc.constant(null), fc.constant([{}])) },
      { path: ['encoding_format'], bad: fc.oneof(notString, fc.constantFrom('int8', 'FLOAT')) },
      { path: ['dimensions'], bad: fc.oneof(notNumber, fraction, fc.integer({ min: -10, max: 0 })) },
    ],
  },
  {
    route: 'openai.responses',
    path: '/v1/responses',
    method: 'POST',
    dialect: 'openai',
    valid: fc.record(
      {
        model,
        input: text,
        instructions: text,
        temperature: unit,
        max_output_tokens: fc.integer({ min: 1, max: 999 }),
      },
      { requiredKeys: ['model', 'input'] },
    ),
    breaks: [
      { path: ['input'], bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant({}), fc.constant([1])) },
      { path: ['instructions'], bad: notString },
      { path: ['temperature'], bad: fc.oneof(notNumber, fc.double({ min: 2.001, max: 1e6, noNaN: true })) },
    ],
  },
  {
    route: 'openai.messages',
    path: '/v1/messages',
    method: 'POST',
    dialect: 'anthropic',
    valid: fc.record(
      {
        model,
        max_tokens: fc.integer({ min: 1, max: 4096 }),
        messages: fc.array(
          fc.record({
            role: fc.constantFrom('user', 'assistant'),
            content: fc.oneof(text, fc.constant([{ type: 'text', text: 'hi' }])),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        system: text,
        temperature: unit,
        top_k: fc.integer({ min: 0, max: 100 }),
        stop_sequences: fc.array(text, { maxLength: 2 }),
      },
      { requiredKeys: ['model', 'max_tokens', 'messages'] },
    ),
    breaks: [
      { path: ['messages', 0, 'role'], bad: fc.oneof(notString, fc.constantFrom('system', 'tool')) },
      { path: ['messages', 0, 'content'], bad: fc.oneof(fc.integer(), fc.constant({}), fc.constant([{}])) },
      { path: ['system'], bad: fc.oneof(fc.integer(), fc.boolean(), fc.constant({})) },
      { path: ['temperature'], bad: fc.oneof(notNumber, fc.double({ min: 1.001, max: 1e6, noNaN: true })) },
      { path: ['top_k'], bad: fc.oneof(notNumber, fraction) },
      { path: ['stop_sequences'], bad: fc.oneof(notArray, fc.constant([1])) },
    ],
  },
]

/** A valid body of `route` with the field at `path` set to `value` (the parent exists: the generators make it). */
export function broken(body: Record<string, unknown>, path: (string | number)[], value: unknown): Record<string, any> {
  const copy = structuredClone(body) as Record<string, any>
  let parent: any = copy
  for (const step of path.slice(0, -1)) parent = parent[step]
  parent[path.at(-1)!] = value
  return copy
}

/** The JSON pointer of a path (RFC 6901). */
export function pointerOf(path: (string | number)[]): string {
  return path.map((step) => `/${String(step).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}
