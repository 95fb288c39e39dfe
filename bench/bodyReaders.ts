// Micro-bench of the request body readers (the per-request cost of stage 3, "read fields"): µs per call on a typical
// ~1 KB chat body, native and /v1, with and without the rewrite a streamed /v1 chat always needs (include_usage); then
// µs per MiB on big bodies (an 8 MiB image, a long prompt with escapes and non-ASCII text, many short messages) next to
// JSON.parse of the same text, which is what the one-pass reader must stay well under.
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
/** An /api/chat with an image: 6 MiB of bytes are 8 MiB of base64. */
const image = Buffer.from(
  JSON.stringify({
    model: 'llava:7b',
    messages: [
      { role: 'user', content: 'what is this?', images: [Buffer.alloc(6 * 1024 * 1024, 7).toString('base64')] },
    ],
    stream: false,
  }),
)
/** A long prompt: lines of text (escaped newlines, a quote now and then, some non-ASCII), 1 MiB. */
const line = 'The gateway reads “only” the fields it decides on, and skips the rest of the body — quickly.\n'
const prompt = Buffer.from(
  JSON.stringify({ model: 'llama3.2:3b', prompt: line.repeat(Math.ceil(2 ** 20 / line.length)), stream: true }),
)
/** Many short strings: a long chat history of one-line messages, 1 MiB. */
const history = Buffer.from(
  JSON.stringify({
    model: 'llama3.2:3b',
    messages: Array.from({ length: 2 ** 20 / 100 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message ${i}: a short line of chat, about seventy bytes long.`,
    })),
  }),
)
const aliases = new ModelAliases([{ alias: 'gpt-4o-mini', model: 'llama3.2:3b' }])

/** The fastest of `rounds` batches (the machine is shared: the minimum is the least disturbed estimate), µs per call. */
function fastest(call: () => unknown, batch: number, rounds = 15): number {
  for (let i = 0; i < batch; i++) call()
  let best = Infinity
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) call()
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / batch)
  }
  return best
}

function measure(name: string, call: () => unknown, batch = 20_000): void {
  console.log(`${name.padEnd(48)} ${fastest(call, batch).toFixed(3)} µs/call (best of 15 × ${batch})`)
}

/** A big body read, and JSON.parse of its text, in µs per MiB. */
function perMiB(name: string, body: Buffer, read: (body: Buffer) => unknown): void {
  const mib = body.length / 2 ** 20
  const reader = fastest(() => read(body), 2, 60) / mib
  const parse = fastest(() => JSON.parse(body.toString()), 2, 30) / mib
  console.log(
    `${`${name} (${mib.toFixed(1)} MiB)`.padEnd(48)} ${reader.toFixed(0).padStart(5)} µs/MiB ` +
      `(JSON.parse of the text: ${parse.toFixed(0)} µs/MiB)`,
  )
}

console.log(`bodies: native ${native.length} B, /v1 ${openai.length} B, /v1 streamed ${openaiStream.length} B`)
measure('readOllamaBody (chat)', () => readOllamaBody(native, 'generate', aliases))
measure('readOpenAiBody (chat, not streamed)', () => readOpenAiBody(openai, 'completions', aliases))
measure('readOpenAiBody (chat, streamed: include_usage)', () => readOpenAiBody(openaiStream, 'completions', aliases))
perMiB('readOllamaBody (chat with an image)', image, (body) => readOllamaBody(body, 'generate', aliases))
perMiB('readOllamaBody (generate, long prompt)', prompt, (body) => readOllamaBody(body, 'generate', aliases))
perMiB('readOllamaBody (chat, many short messages)', history, (body) => readOllamaBody(body, 'generate', aliases))
