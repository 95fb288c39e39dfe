// The whole-reply tap: counts only from the top-level usage object (non-negative safe integers), whatever the reply
// holds elsewhere and however it is chunked; a reply held for a rewrite is bounded.
import fc from 'fast-check'
import t from 'tap'
import { JsonTap, maxHeldBytes, type JsonRewrite } from '../../src/proxy/jsonTap.js'
import { holds } from '../helpers/fuzz.js'

function run(tap: JsonTap, bytes: Buffer, cuts: number[]) {
  const out: Buffer[] = []
  let at = 0
  for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
    const next = Math.max(at, cut)
    const sent = tap.push(bytes.subarray(at, next))
    if (sent) out.push(sent)
    at = next
  }
  const rest = tap.end()
  if (rest) out.push(rest)
  return { text: Buffer.concat(out).toString(), usage: tap.usage() }
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= 1e9
const count = fc.oneof(fc.nat(), fc.constantFrom(-5, 1.5, 2 ** 63, '7', null, 1e300, { n: 1 }))
const decoy = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant({ usage: { prompt_tokens: -5, completion_tokens: -5 } }),
  fc.constant('"usage":{"prompt_tokens":-5}'),
)

t.test('counts come from the top-level usage only, for any chunking, rewritten or not', async (t) => {
  await holds(
    t,
    'json tap counts',
    fc.property(
      fc.record({ prompt: count, completion: count }, { requiredKeys: [] }),
      decoy,
      decoy,
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 6 }),
      (usage, content, args, usageFirst, rewrite, cuts) => {
        const choices = [
          { index: 0, message: { role: 'assistant', content, tool_calls: [{ function: { arguments: args } }] } },
        ]
        const fields = { prompt_tokens: usage.prompt, completion_tokens: usage.completion }
        const reply = usageFirst
          ? { usage: fields, id: 'x', model: 'm', choices, extra: { usage: { prompt_tokens: 999 } } }
          : { id: 'x', model: 'm', choices, extra: { usage: { prompt_tokens: 999 } }, usage: fields }
        const text = JSON.stringify(reply, null, usageFirst ? 0 : 2)
        const bytes = Buffer.from(text)
        const same: JsonRewrite = (value) => value
        const result = run(
          new JsonTap(rewrite ? same : undefined),
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        )
        const parsed = JSON.parse(text).usage
        const prompt = isCount(parsed.prompt_tokens) ? parsed.prompt_tokens : undefined
        const completion = isCount(parsed.completion_tokens)
          ? parsed.completion_tokens
          : prompt !== undefined
            ? 0
            : undefined
        const expectedText = rewrite ? JSON.stringify(JSON.parse(text)) : text
        if (result.text !== expectedText) return false
        if (prompt === undefined && completion === undefined) {
          return (
            result.usage === undefined ||
            (result.usage.promptTokens === undefined && result.usage.completionTokens === undefined)
          )
        }
        return result.usage?.promptTokens === prompt && result.usage?.completionTokens === completion
      },
    ),
    2000,
  )
})

t.test('a reply too large to rewrite passes unchanged, or fails closed when asked', async (t) => {
  const big = JSON.stringify({
    object: 'list',
    data: [{ id: 'x'.repeat(2 * maxHeldBytes) }],
    usage: { prompt_tokens: 3 },
  })
  const bytes = Buffer.from(big)
  const cuts: number[] = []
  for (let at = 65536; at < bytes.length; at += 65536) cuts.push(at)
  const rewrite: JsonRewrite = () => ({ rewritten: true })
  const passed = run(new JsonTap(rewrite), bytes, cuts)
  t.equal(passed.text, big, 'passes unchanged')
  t.equal(passed.usage?.promptTokens, 3, 'and its counts are still read')
  const closed = run(new JsonTap(rewrite, { tooLarge: () => ({ object: 'list', data: [] }) }), bytes, cuts)
  t.equal(closed.text, '{"object":"list","data":[]}', 'fails closed')
  const small = run(new JsonTap(rewrite), Buffer.from('{"a":1}'), [3])
  t.equal(small.text, '{"rewritten":true}', 'a small reply is rewritten')
})
