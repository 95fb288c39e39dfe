// The SSE tap: the same output and counts however the stream is chunked; counts only from the usage object at its
// place in an event, and only when they are non-negative safe integers; what it holds is bounded (an event past
// maxEventBytes passes as it comes, unparsed).
import fc from 'fast-check'
import t from 'tap'
import { maxEventBytes, SseTap, type SseTapOptions } from '../../src/proxy/sseTap.js'
import type { OllamaUsage } from '../../src/proxy/usageSniffer.js'
import { holds } from '../helpers/fuzz.js'

function run(options: SseTapOptions, bytes: Buffer, cuts: number[]) {
  const tap = new SseTap(options)
  const out: Buffer[] = []
  let at = 0
  let maxHeld = 0
  let outBytes = 0
  const push = (piece: Buffer) => {
    const sent = tap.push(piece)
    if (sent) {
      out.push(sent)
      outBytes += sent.length
    }
    maxHeld = Math.max(maxHeld, at - outBytes)
  }
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const next = Math.max(at, cut)
    const piece = bytes.subarray(at, next)
    at = next
    push(piece)
  }
  const last = bytes.subarray(at)
  at = bytes.length
  push(last)
  const rest = tap.end()
  if (rest) out.push(rest)
  return { text: Buffer.concat(out).toString(), usage: tap.usage(), maxHeld }
}

const decoyText = fc
  .array(
    fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('"usage":{"prompt_tokens":-5}', '\n\n', '"error"', '\\')),
  )
  .map((parts) => parts.join(''))
const count = fc.oneof(fc.nat(), fc.constantFrom(-5, 1.5, 2 ** 63, '7', null, 1e300))
const chunkEvent = fc.record({ text: decoyText, args: decoyText }).map(
  ({ text, args }) =>
    `data: ${JSON.stringify({
      id: 'c',
      object: 'chat.completion.chunk',
      model: 'm',
      choices: [{ index: 0, delta: { content: text, tool_calls: [{ function: { name: 'f', arguments: args } }] } }],
    })}\n\n`,
)
const usageEvent = fc.record({ prompt: count, completion: count }).map(({ prompt, completion }) => ({
  prompt,
  completion,
  text: `data: ${JSON.stringify({ id: 'c', model: 'm', choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion } })}\n\n`,
}))

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 1e9

t.test('any chunking gives the same bytes and counts; only valid top-level usage counts', async (t) => {
  await holds(
    t,
    'sse tap chunking and counts',
    fc.property(
      fc.array(chunkEvent, { maxLength: 5 }),
      usageEvent,
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 8 }),
      (events, usage, stripUsage, cuts) => {
        const stream = events.join('') + usage.text + 'data: [DONE]\n\n'
        const bytes = Buffer.from(stream)
        const options = { stripUsage }
        const whole = run(options, bytes, [])
        const chunked = run(
          options,
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        )
        if (chunked.text !== whole.text) return false
        if (!stripUsage && whole.text !== stream) return false
        if (stripUsage && whole.text !== events.join('') + 'data: [DONE]\n\n') return false
        const got: OllamaUsage | undefined = chunked.usage
        const prompt = isCount(usage.prompt) ? usage.prompt : undefined
        const completion = isCount(usage.completion) ? usage.completion : prompt !== undefined ? 0 : undefined
        return got?.promptTokens === prompt && got?.completionTokens === completion
      },
    ),
    1500,
  )
})

t.test('an event larger than the bound passes as it comes, unheld and unparsed; later events are read', async (t) => {
  const huge =
    'data: {"choices":[{"delta":{"content":"' + 'x'.repeat(3 * maxEventBytes) + '"}}],"usage":{"prompt_tokens":1}}\n\n'
  const final = 'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34}}\n\ndata: [DONE]\n\n'
  const bytes = Buffer.from(huge + final)
  const cuts: number[] = []
  for (let at = 65536; at < bytes.length; at += 65536) cuts.push(at)
  const result = run({ stripUsage: false }, bytes, cuts)
  t.equal(result.text, huge + final, 'every byte reaches the client unchanged')
  t.ok(result.maxHeld <= maxEventBytes + 65536, `held at most the bound and a chunk (${result.maxHeld})`)
  t.equal(result.usage?.promptTokens, 12, 'the usage event after it is read')
  t.equal(result.usage?.completionTokens, 34)
  const alone = run({ stripUsage: true }, Buffer.from(huge), [maxEventBytes + 10, maxEventBytes + 11])
  t.equal(alone.text, huge, 'one chunk larger than the bound passes too')
})

t.test('generated large events at generated boundaries: output complete, held bytes bounded', async (t) => {
  await holds(
    t,
    'sse tap large events',
    fc.property(
      fc.array(fc.integer({ min: 0, max: 2 * maxEventBytes }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 4 }),
      (sizes, steps) => {
        const stream =
          sizes.map((size) => `data: {"choices":[{"delta":{"content":"${'y'.repeat(size)}"}}]}\n\n`).join('') +
          'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n'
        const bytes = Buffer.from(stream)
        const cuts: number[] = []
        for (let at = 0, i = 0; at < bytes.length; i++) cuts.push((at += steps[i % steps.length]!))
        const result = run({ stripUsage: false }, bytes, cuts)
        const largest = Math.max(...steps)
        return (
          result.text === stream &&
          result.maxHeld <= maxEventBytes + largest &&
          result.usage?.promptTokens === 3 &&
          result.usage.completionTokens === 4
        )
      },
    ),
    30,
    0.0005,
  )
})

t.test('the exact attacks: negative and fractional usage, a non-object event', async (t) => {
  const read = (payload: string) => run({ stripUsage: false }, Buffer.from(`data: ${payload}\n\n`), []).usage
  t.equal(read('{"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":3}}')?.promptTokens, undefined)
  t.equal(read('{"choices":[],"usage":{"prompt_tokens":1.5}}')?.promptTokens, undefined)
  t.equal(read('{"usage":{"prompt_tokens":9223372036854775808}}')?.promptTokens, undefined)
  t.equal(read('"usage"'), undefined, 'a JSON string is no usage')
  t.equal(
    read('{"type":"response.completed","response":{"usage":{"input_tokens":5,"output_tokens":6}}}')?.promptTokens,
    5,
  )
  t.equal(read('{"error":{"message":"' + 'e'.repeat(5000) + '"}}')?.error?.length, 1024, 'an error message is cut')
})
