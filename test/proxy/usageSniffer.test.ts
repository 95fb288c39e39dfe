// The usage sniffer reads the final object's metrics from the stream's last line, however the line is chunked.
import t from 'tap'
import { readUsage, UsageSniffer } from '../../src/proxy/usageSniffer.js'

function sniff(text: string, chunkSize: number) {
  const sniffer = new UsageSniffer()
  const bytes = Buffer.from(text)
  for (let at = 0; at < bytes.length; at += chunkSize) sniffer.push(bytes.subarray(at, at + chunkSize))
  return sniffer.finish()
}

const final =
  '{"model":"m","created_at":"t","response":"","done":true,"done_reason":"length","context":[1,2,3],' +
  '"total_duration":900,"load_duration":100,"prompt_eval_count":12,"prompt_eval_duration":200,"eval_count":34,"eval_duration":500}\n'
const stream = '{"model":"m","response":"a","done":false}\n'.repeat(5) + final

t.test('any chunking of the stream gives the same usage', async (t) => {
  const expected = {
    promptTokens: 12,
    completionTokens: 34,
    doneReason: 'length',
    totalDurationNs: 900,
    loadDurationNs: 100,
    promptEvalDurationNs: 200,
    evalDurationNs: 500,
    error: undefined,
  }
  for (const size of [1, 2, 7, 40, 41, 42, 1000]) t.same(sniff(stream, size), expected, `chunks of ${size} bytes`)
  t.same(sniff(stream.trimEnd(), 13), expected, 'without a trailing newline')
})

t.test('a key quoted inside a string value is not mistaken for the field', async (t) => {
  const tricky =
    '{"model":"m","message":{"role":"assistant","content":"say \\"eval_count\\": 999"},"done":true,"eval_count":5}\n'
  t.equal(sniff(tricky, 9).completionTokens, 5)
  const toolCall =
    '{"message":{"tool_calls":[{"function":{"arguments":{"eval_count":77}}}]},"done":true,"prompt_eval_count":3,"eval_count":4}\n'
  t.equal(readUsage(Buffer.from(toolCall)).completionTokens, 4, 'top-level metrics come last and win')
})

t.test('missing metrics are undefined; an error line is reported', async (t) => {
  const load = sniff('{"model":"m","created_at":"t","response":"","done":true,"done_reason":"load"}\n', 5)
  t.equal(load.doneReason, 'load')
  t.equal(load.promptTokens, undefined)
  t.equal(load.completionTokens, undefined)
  const failed = sniff('{"response":"a","done":false}\n{"error":"model runner crashed \\u00e9"}\n', 6)
  t.equal(failed.error, 'model runner crashed é')
  t.same(sniff('', 1), readUsage(Buffer.alloc(0)), 'an empty body is all unknown')
  t.equal(readUsage(Buffer.from('{"eval_count":"x"}')).completionTokens, undefined, 'a non-number is unknown')
  t.equal(readUsage(Buffer.from('{"done_reason":"unterminated')).doneReason, undefined)
})

t.test('a final line of any length is read as it passes, nothing of it held', async (t) => {
  const longContext = '{"done":true,"done_reason":"stop","context":[' + '1,'.repeat(700_000) + '1],"eval_count":9}\n'
  const usage = sniff(longContext, 65536)
  t.equal(usage.completionTokens, 9)
})
