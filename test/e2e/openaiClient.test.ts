// The official `openai` npm client (v6) through the gateway's /v1 and /openai/v1: every route, streamed and not,
// include_usage on and off (the client sees what OpenAI would send; the gateway records exact counts either way),
// aliases, and the model list a key may see.
import OpenAI from 'openai'
import t from 'tap'
import { startRig, type Rig } from '../helpers/gateway.js'

const aliases = [
  { alias: 'gpt-4o-mini', model: 'llama3.2:3b' },
  { alias: 'cheap', model: 'qwen2.5:0.5b' },
]

function client(rig: Rig, key = rig.key, mount = '/v1'): OpenAI {
  return new OpenAI({ baseURL: `${rig.url}${mount}`, apiKey: key, maxRetries: 0 })
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

t.test('chat, streamed and not, on both mounts: exact usage recorded either way', async (t) => {
  const rig = await startRig(t, { models: { aliases } })
  for (const mount of ['/v1', '/openai/v1']) {
    const openai = client(rig, rig.key, mount)
    let ended = rig.nextEnd()
    const whole = await openai.chat.completions.create({
      model: 'llama3.2:3b',
      messages: [{ role: 'user', content: 'hello there' }],
    })
    t.match(whole, {
      object: 'chat.completion',
      model: 'llama3.2:3b',
      usage: { prompt_tokens: 3, completion_tokens: 32 },
    })
    t.match(await ended, { api: 'openai', route: 'chat_completions', model: 'llama3.2:3b', status: 200 })
    t.match((await ended).usage, { promptTokens: 3, completionTokens: 32 })

    ended = rig.nextEnd()
    const chunks = await collect(
      await openai.chat.completions.create({
        model: 'llama3.2:3b',
        messages: [{ role: 'user', content: 'hello there' }],
        stream: true,
        max_tokens: 5,
      }),
    )
    t.equal(chunks.length, 6, `${mount}: 5 tokens and the finish chunk, no usage chunk (not asked for)`)
    t.ok(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage === undefined))
    t.equal(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join(''), 'The quick brown fox jumps')
    t.match((await ended).usage, { promptTokens: 3, completionTokens: 5 }, 'counted although the client did not ask')

    ended = rig.nextEnd()
    const withUsage = await collect(
      await openai.chat.completions.create({
        model: 'llama3.2:3b',
        messages: [{ role: 'user', content: 'hello there' }],
        stream: true,
        max_tokens: 5,
        stream_options: { include_usage: true },
      }),
    )
    t.equal(withUsage.length, 7)
    t.match(withUsage.at(-1), { choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } })
    t.match((await ended).usage, { promptTokens: 3, completionTokens: 5 })
  }
})

t.test('legacy completions: per-chunk usage only when asked; embeddings count their prompt', async (t) => {
  const rig = await startRig(t)
  const openai = client(rig)
  const plain = await collect(
    await openai.completions.create({ model: 'qwen2.5:0.5b', prompt: 'once upon', stream: true, max_tokens: 3 }),
  )
  t.equal(plain.length, 4)
  t.ok(
    plain.every((chunk) => !('usage' in chunk)),
    'no usage field at all, as OpenAI sends without include_usage',
  )
  const asked = await collect(
    await openai.completions.create({
      model: 'qwen2.5:0.5b',
      prompt: 'once upon',
      stream: true,
      max_tokens: 3,
      stream_options: { include_usage: true },
    }),
  )
  t.equal(asked.length, 5)
  t.match(asked.at(-1), { choices: [], usage: { prompt_tokens: 3, completion_tokens: 3 } })
  const split = rig.nextEnd()
  const straddling = await collect(
    await openai.chat.completions.create(
      { model: 'qwen2.5:0.5b', messages: [{ role: 'user', content: 'once upon' }], stream: true, max_tokens: 6 },
      { headers: { 'x-emulator-chunk-bytes': '7' } },
    ),
  )
  t.equal(straddling.length, 7, 'events split across 7-byte chunks arrive whole, the usage chunk still removed')
  t.match((await split).usage, { promptTokens: 3, completionTokens: 6 })
  const ended = rig.nextEnd()
  const whole = await openai.completions.create({ model: 'qwen2.5:0.5b', prompt: 'once upon', max_tokens: 4 })
  t.equal(whole.choices[0]!.text, 'The quick brown fox')
  t.match((await ended).usage, { promptTokens: 3, completionTokens: 4 })

  const embedded = rig.nextEnd()
  const vectors = await openai.embeddings.create({ model: 'nomic-embed-text', input: ['one two', 'three'] })
  t.equal(vectors.data.length, 2)
  t.equal(vectors.data[0]!.embedding.length, 768)
  t.match(await embedded, {
    route: 'embeddings',
    model: 'nomic-embed-text:latest',
    usage: { promptTokens: 5, completionTokens: 0 },
  })
})
