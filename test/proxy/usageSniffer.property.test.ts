// Usage counts come only from the top-level fields of the final object, however the stream is chunked and whatever a
// model wrote inside its output: generated final lines with nested decoys (tool-call arguments, message text, any
// JSON), split at generated chunk boundaries, against JSON.parse as the oracle.
import fc from 'fast-check'
import t from 'tap'
import { isDeepStrictEqual } from 'node:util'
import { maxTokenCount, readUsage, UsageSniffer, type OllamaUsage } from '../../src/proxy/usageSniffer.js'
import { holds } from '../helpers/fuzz.js'

const countFields = [
  ['prompt_eval_count', 'promptTokens'],
  ['eval_count', 'completionTokens'],
  ['total_duration', 'totalDurationNs'],
  ['load_duration', 'loadDurationNs'],
  ['prompt_eval_duration', 'promptEvalDurationNs'],
  ['eval_duration', 'evalDurationNs'],
] as const
const metricKeys = [...countFields.map(([key]) => key), 'done_reason', 'error']

function sniffChunks(bytes: Buffer, cuts: number[]): OllamaUsage {
  const sniffer = new UsageSniffer()
  let at = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    sniffer.push(bytes.subarray(at, Math.max(at, cut)))
    at = Math.max(at, cut)
  }
  sniffer.push(bytes.subarray(at))
  return sniffer.finish()
}

/** What a client decoding the line would see at the top level: a count only if a non-negative safe integer. */
function expected(value: Record<string, unknown>): Partial<OllamaUsage> {
  const out: Record<string, unknown> = {}
  for (const [key, field] of countFields) {
    const count = value[key]
    // Token counts are bounded by maxTokenCount; durations (ns) only by what a safe integer holds.
    const max = field === 'promptTokens' || field === 'completionTokens' ? maxTokenCount : Number.MAX_SAFE_INTEGER
    out[field] =
      typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 && count <= max ? count : undefined
  }
  const reason = value.done_reason
  out.doneReason = typeof reason === 'string' && Buffer.byteLength(JSON.stringify(reason)) <= 1026 ? reason : undefined
  return out
}

function countsOf(usage: OllamaUsage): Partial<OllamaUsage> {
  const { error: _error, ...rest } = usage
  return rest
}

// Anything a model may write: text with keys in it, and JSON values (tool-call arguments are objects in Ollama).
const decoyKey = fc.oneof(fc.constantFrom(...metricKeys, 'usage'), fc.string({ maxLength: 8 }))
const decoyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-5, -1, 1e300, 0.5, 2 ** 63, 'eval_count', '"prompt_eval_count":-5'),
)
const decoyObject = fc.dictionary(decoyKey, decoyValue, { maxKeys: 6 })
const decoyText = fc
  .array(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('"prompt_eval_count":-5', '\\', '"', '}', '{', '\n')))
  .map((parts) => parts.join(''))
const count = fc.oneof(
  fc.nat(),
  fc.maxSafeNat(),
  fc.constantFrom(0, -5, 1.5, 1e9, 1e9 + 1, 2 ** 53, 2 ** 63, -0, 1e21, '12', null, true, { n: 1 }, [3]),
)

const finalObject = fc
  .record(
    {
      prompt_eval_count: count,
      eval_count: count,
      total_duration: count,
      load_duration: count,
      prompt_eval_duration: count,
      eval_duration: count,
      done_reason: fc.oneof(fc.constantFrom('stop', 'length', 'load'), fc.string({ maxLength: 20 })),
    },
    { requiredKeys: [] },
  )
  .chain((metrics) =>
    fc
      .record({
        decoys: fc.array(fc.tuple(decoyKey, decoyValue), { maxLength: 4 }),
        text: decoyText,
        args: decoyObject,
        order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
      })
      .map(({ decoys, text, args, order }) => {
        const entries: [string, unknown][] = [
          ['model', 'm'],
          ['message', { role: 'assistant', content: text, tool_calls: [{ function: { name: 'f', arguments: args } }] }],
          ['done', true],
          ...Object.entries(metrics),
          // Decoys at the top level only under keys that are not metrics (those are the real ones).
          ...decoys
            .filter(([key]) => !metricKeys.includes(key))
            .map(([key, value]) => [`x_${key}`, value] as [string, unknown]),
        ]
        // Any key order: a decoy may come after the real metrics.
        const shuffled = entries
          .map((entry, i) => [order[i % order.length]! + i / 100, entry] as const)
          .sort((a, b) => a[0] - b[0])
        return Object.fromEntries(shuffled.map(([, entry]) => entry))
      }),
  )

t.test('counts come from the top level of the final line only, whatever the chunking', async (t) => {
  await holds(
    t,
    'sniffer top-level fields',
    fc.property(
      finalObject,
      fc.array(finalObject, { maxLength: 2 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (final, before, cuts) => {
        const lines = [...before, final].map((value) => JSON.stringify(value)).join('\n') + '\n'
        const bytes = Buffer.from(lines)
        const usage = sniffChunks(
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        )
        const want = expected(JSON.parse(JSON.stringify(final)) as Record<string, unknown>)
        return isDeepStrictEqual(countsOf(usage), want)
      },
    ),
    2000,
  )
})

t.test('every single chunk boundary of a line with decoys gives the same counts', async (t) => {
  const line =
    '{"model":"m","message":{"role":"assistant","content":"say \\"eval_count\\": 999 \\\\","tool_calls":[{"function":' +
    '{"name":"f","arguments":{"prompt_eval_count":-5,"eval_count":{"eval_count":7},"s":"}\\"{"}}}]},"done":true,' +
    '"context":[1,2,[3]],"done_reason":"stop","eval_count":4}\n'
  const bytes = Buffer.from(line)
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (const second of [cut, Math.min(bytes.length, cut + 1), Math.min(bytes.length, cut + 2)]) {
      const usage = sniffChunks(bytes, [cut, second])
      if (usage.promptTokens !== undefined || usage.completionTokens !== 4 || usage.doneReason !== 'stop') {
        t.fail(`cut at ${cut} and ${second}: ${JSON.stringify(usage)}`)
        return
      }
    }
  }
  t.pass('all boundaries')
})

t.test('any bytes at all: no exception, and a count is a non-negative safe integer or unknown', async (t) => {
  const isCount = (value: number | undefined) => value === undefined || (Number.isSafeInteger(value) && value >= 0)
  await holds(
    t,
    'sniffer arbitrary bytes',
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .array(fc.constantFrom('{', '}', '[', ']', '"', '\\', ':', ',', '\n', '"eval_count"', '-5', '7', ' ', 'null'))
          .map((parts) => Buffer.from(parts.join(''))),
      ),
      fc.array(fc.nat(), { maxLength: 4 }),
      (raw, cuts) => {
        const bytes = Buffer.from(raw)
        const usage = sniffChunks(
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        )
        return (
          countFields.every(([, field]) => isCount(usage[field])) &&
          (usage.doneReason === undefined || typeof usage.doneReason === 'string')
        )
      },
    ),
    3000,
  )
})

t.test('the exact attack: a negative count in tool-call arguments, with no top-level count', async (t) => {
  const attack =
    '{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":' +
    '{"prompt_eval_count":-5,"eval_count":-100000}}}]},"done":true,"done_reason":"stop"}\n'
  const usage = readUsage(Buffer.from(attack))
  t.equal(usage.promptTokens, undefined, 'the model-made count is not a count')
  t.equal(usage.completionTokens, undefined)
  t.equal(usage.doneReason, 'stop', 'the reply is still complete (its counts were zero)')
  t.equal(readUsage(Buffer.from('{"done":true,"eval_count":-5}')).completionTokens, undefined, 'negative: unknown')
  t.equal(readUsage(Buffer.from('{"done":true,"eval_count":1.5}')).completionTokens, undefined, 'fraction: unknown')
  t.equal(readUsage(Buffer.from('{"done":true,"eval_count":9223372036854775808}')).completionTokens, undefined)
  t.equal(readUsage(Buffer.from('{"done":true,"eval_count":5')).completionTokens, undefined, 'cut short: unknown')
  t.equal(readUsage(Buffer.from('{"done":true,"eval_count":5}x')).completionTokens, undefined, 'junk after: unknown')
})

t.test('lines longer than what is held (scanned as they pass) give the same counts', async (t) => {
  const pad = (value: Record<string, unknown>, long: boolean) =>
    long ? { context: Array.from({ length: 15_000 }, (_, i) => i), ...value } : value
  await holds(
    t,
    'sniffer long lines',
    fc.property(
      finalObject,
      fc.array(fc.tuple(finalObject, fc.boolean()), { maxLength: 2 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 6 }),
      (final, before, longFinal, cuts) => {
        const lines = [...before.map(([value, long]) => pad(value, long)), pad(final, longFinal)]
        const bytes = Buffer.from(lines.map((value) => JSON.stringify(value)).join('\n') + '\n')
        const usage = sniffChunks(
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        )
        return isDeepStrictEqual(
          countsOf(usage),
          expected(JSON.parse(JSON.stringify(final)) as Record<string, unknown>),
        )
      },
    ),
    200,
    0.01,
  )
})
