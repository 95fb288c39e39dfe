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
const image = Buffer.from(
  JSON.stringify({
    model: 'llava:7b',
    messages: [
      { role: 'user', content: 'what is this?', images: [Buffer.alloc(3 * 1024 * 1024, 7).toString('base64')] },
    ],
    stream: false,
  }),
)
const aliases = new ModelAliases([{ alias: 'gpt-4o-mini', model: 'llama3.2:3b' }])

/** The fastest of 15 batches (the machine is shared: the minimum is the least disturbed estimate). */
function measure(name: string, call: () => unknown, batch = 20_000): void {
  for (let i = 0; i < batch; i++) call()
  let best = Infinity
  for (let round = 0; round < 15; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) call()
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / batch)
  }
  console.log(`${name.padEnd(48)} ${best.toFixed(3)} µs/call (best of 15 × ${batch})`)
}

console.log(`bodies: native ${native.length} B, /v1 ${openai.length} B, /v1 streamed ${openaiStream.length} B`)
measure('readOllamaBody (chat)', () => readOllamaBody(native, 'generate', aliases))
measure('readOpenAiBody (chat, not streamed)', () => readOpenAiBody(openai, 'completions', aliases))
measure(
  `readOllamaBody (chat with a ${(image.length / 1048576).toFixed(0)} MiB image)`,
  () => readOllamaBody(image, 'generate', aliases),
  5,
)
measure('readOpenAiBody (chat, streamed: include_usage)', () => readOpenAiBody(openaiStream, 'completions', aliases))
