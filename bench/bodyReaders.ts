// Micro-bench of the request body readers (the per-request cost of stage 3, "read fields"): µs per call on a typical
// ~1 KB chat body, native and /v1, with and without the rewrite a streamed /v1 chat always needs (include_usage).
// Run: npm run build --silent && node dist/bench/bodyReaders.js
import { ModelAliases } from '../src/models/aliases.js'
import { readOllamaBody } from '../src/api/ollamaBody.js'
import { readOpenAiBody } from '../src/api/openaiBody.js'

const messages = [
  {
    role: 'system',
    content:
      'You are a helpful assistant. Answer briefly and precisely; cite sources when you can. Prefer plain words ' +
      'over jargon, give one example per idea, and say so when you are not sure rather than guessing an answer.',
  },
  { role: 'user', content: 'Explain the difference between a token bucket and a leaky bucket in two paragraphs.' },
  {
    role: 'assistant',
    content:
      'A token bucket holds up to N tokens and refills at a steady rate; a request spends tokens and may burst up to ' +
      'the bucket size. A leaky bucket drains at a fixed rate and smooths bursts away entirely.',
  },
  { role: 'user', content: 'And which one does an API gateway usually use for per-key rate limits, and why?' },
]
const native = Buffer.from(
  JSON.stringify({
    model: 'llama3.2:3b',
    messages,
    stream: true,
    options: { temperature: 0.2, num_predict: 256, top_p: 0.9, stop: ['</s>'] },
    keep_alive: '5m',
  }),
)
const openai = Buffer.from(
  JSON.stringify({ model: 'llama3.2:3b', messages, stream: false, max_tokens: 256, temperature: 0.2, top_p: 0.9 }),
)
const openaiStream = Buffer.from(
  JSON.stringify({ model: 'llama3.2:3b', messages, stream: true, max_tokens: 256, temperature: 0.2, top_p: 0.9 }),
)
const aliases = new ModelAliases([{ alias: 'gpt-4o-mini', model: 'llama3.2:3b' }])

function measure(name: string, call: () => unknown, calls = 200_000): void {
  for (let i = 0; i < 20_000; i++) call()
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) call()
  const micros = Number(process.hrtime.bigint() - started) / 1000 / calls
  console.log(`${name.padEnd(44)} ${micros.toFixed(3)} µs/call`)
}

console.log(`bodies: native ${native.length} B, /v1 ${openai.length} B, /v1 streamed ${openaiStream.length} B`)
measure('readOllamaBody (chat)', () => readOllamaBody(native, 'generate', aliases))
measure('readOpenAiBody (chat, not streamed)', () => readOpenAiBody(openai, 'completions', aliases))
measure('readOpenAiBody (chat, streamed: include_usage)', () => readOpenAiBody(openaiStream, 'completions', aliases))
