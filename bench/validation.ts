// `npm run bench:validation`: what request validation costs the read-fields stage, in-process (µs are below the noise
// of an end-to-end run): each route's field reader alone (what the gateway paid before validation) against the same
// reader with validation (readFields.ts withValidation) in strict and basic mode, on typical chat bodies of both APIs.
// The goal: strict ≤ 5 µs over the reader alone on a typical chat body. A large body (a 1 MiB image) above
// validation.full_parse_max_bytes costs the reader only; what a full parse and check of it would cost is shown for
// scale (the reason for the threshold). Also the one-time compile of every schema at start.
import { parseArgs } from 'node:util'
import { readOllamaBody } from '../src/api/ollamaBody.js'
import { readOpenAiBody } from '../src/api/openaiBody.js'
import { withValidation } from '../src/api/readFields.js'
import type { RequestFields } from '../src/api/requestFields.js'
import type { GatewayError } from '../src/errors.js'
import { ModelAliases } from '../src/models/aliases.js'
import type { ValidationMode } from '../src/validation/modes.js'
import { routeChecks, validateBody } from '../src/validation/validator.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200000' } } })
const rounds = Number(values.rounds)

/** Mean µs per call of `work` over `count` calls, after a warm-up. */
function measure(count: number, work: () => unknown): number {
  for (let i = 0; i < Math.min(count, 20_000); i++) work()
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) work()
  return Number(process.hrtime.bigint() - start) / 1000 / count
}

// What a gateway pays the first time a route sees a body: compiling that route's strict schema (and the shared parts).
const compileStart = process.hrtime.bigint()
void routeChecks().get('ollama.chat')!.strict
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6

const aliases = new ModelAliases([])
const nativeChat = Buffer.from(
  JSON.stringify({
    model: 'llama3.2:3b',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy? Say why in one sentence.' },
    ],
    stream: true,
    options: { temperature: 0.7, top_p: 0.9, num_ctx: 4096, num_predict: 256 },
    keep_alive: '5m',
  }),
)
const openAiChat = Buffer.from(
  JSON.stringify({
    model: 'llama3.2:3b',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: [{ type: 'text', text: 'And of Italy? Say why in one sentence.' }] },
    ],
    temperature: 0.7,
    max_tokens: 256,
    stream: false,
  }),
)
const image = Buffer.alloc(768 * 1024, 7).toString('base64')
const largeChat = Buffer.from(
  JSON.stringify({ model: 'llava', messages: [{ role: 'user', content: 'What is this?', images: [image] }] }),
)

type Reader = (body: Buffer) => RequestFields | GatewayError
const settings = (mode: ValidationMode) => ({ ollama: mode, openai: mode, full_parse_max_bytes: 256 * 1024 })
const cases: { name: string; route: { api: string; name: string }; read: Reader; body: Buffer }[] = [
  {
    name: 'native /api/chat',
    route: { api: 'ollama', name: 'chat' },
    read: (body) => readOllamaBody(body, 'generate', aliases),
    body: nativeChat,
  },
  {
    name: 'OpenAI /v1/chat/completions',
    route: { api: 'openai', name: 'chat_completions' },
    read: (body) => readOpenAiBody(body, 'completions', aliases),
    body: openAiChat,
  },
  {
    name: 'native /api/chat, 1 MiB image',
    route: { api: 'ollama', name: 'chat' },
    read: (body) => readOllamaBody(body, 'generate', aliases),
    body: largeChat,
  },
]

const results: Record<string, number> = {}
for (const { name, route, read, body } of cases) {
  const count = body.length > 64 * 1024 ? Math.max(100, rounds / 1000) : rounds
  const label = `${name} (${body.length} bytes)`
  results[`${label}: reader alone`] = measure(count, () => read(body))
  for (const mode of ['strict', 'basic'] as const) {
    const checked = withValidation(read, route, () => settings(mode))
    results[`${label}: reader + ${mode}`] = measure(count, () => checked(body))
  }
}
// For scale: the full parse and strict check the threshold spares a large body.
const checks = routeChecks().get('ollama.chat')!
const unlimited = { ...settings('strict'), full_parse_max_bytes: Infinity }
results[`native /api/chat, 1 MiB image, if parsed and checked whole`] = measure(Math.max(100, rounds / 1000), () =>
  validateBody(checks, unlimited, largeChat),
)

const width = Math.max(...Object.keys(results).map((name) => name.length))
process.stdout.write(`first body on a route compiles its schema (ollama.chat, strict): ${compileMs.toFixed(1)} ms\n`)
for (const [name, us] of Object.entries(results)) process.stdout.write(`${name.padEnd(width)}  ${us.toFixed(3)} µs\n`)
process.stdout.write(`${JSON.stringify({ node: process.version, rounds, compileMs, results })}\n`)
