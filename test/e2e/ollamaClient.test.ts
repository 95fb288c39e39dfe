// The official `ollama` npm client gets the same answers through Parallama as straight from the emulator.
import t from 'tap'
import { Ollama } from 'ollama'
import { startRig } from '../helpers/gateway.js'

/** Timestamps and durations differ between two calls; everything else must be identical. */
function stable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (key, field) =>
    key === 'created_at' || key === 'expires_at' ? '<time>' : field,
  )
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = []
  for await (const part of stream) parts.push(part)
  return parts
}

t.test('ollama client through the gateway matches the emulator', async (t) => {
  const rig = await startRig(t)
  const viaGateway = new Ollama({ host: rig.url, headers: rig.headers })
  const direct = new Ollama({ host: rig.emulator.url })

  const calls: [string, (client: Ollama) => Promise<unknown>][] = [
    ['generate', (c) => c.generate({ model: 'llama3.2:3b', prompt: 'Why is the sky blue?', stream: false })],
    [
      'generate streamed',
      (c) => c.generate({ model: 'llama3.2:3b', prompt: 'Why is the sky blue?', stream: true }).then(collect),
    ],
    [
      'chat',
      (c) => c.chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hello there' }], stream: false }),
    ],
    [
      'chat streamed',
      (c) =>
        c
          .chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hello there' }], stream: true })
          .then(collect),
    ],
    ['embed', (c) => c.embed({ model: 'nomic-embed-text', input: ['one text', 'another text'] })],
    ['tags', (c) => c.list()],
    ['ps', (c) => c.ps()],
    ['show', (c) => c.show({ model: 'llama3.2:3b' })],
    ['pull with progress', (c) => c.pull({ model: 'qwen2.5:0.5b', stream: true }).then(collect)],
    ['version', (c) => c.version()],
  ]
  for (const [name, call] of calls) {
    const [through, straight] = await Promise.all([call(viaGateway), call(direct)])
    t.same(stable(through), stable(straight), name)
  }
  const pulled = (await collect(await viaGateway.pull({ model: 'qwen2.5:0.5b', stream: true }))).map(
    (part) => part.status,
  )
  t.equal(pulled.at(-1), 'success', 'pull ends in success')
  t.ok(pulled.length > 3, 'pull reports progress lines')
})

t.test('ollama client sees Ollama errors unchanged', async (t) => {
  const rig = await startRig(t)
  const client = new Ollama({ host: rig.url, headers: rig.headers })
  await t.rejects(client.generate({ model: 'missing:1b', prompt: 'hi', stream: false }), {
    message: 'model "missing:1b" not found, try pulling it first',
    status_code: 404,
  })
})
