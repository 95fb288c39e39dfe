// Attack: a per-model limit (and the usage row's model) must follow the model Ollama runs, whatever the spelling.
// Ollama's ParseName drops a `scheme://` before the host (types/model/name.go), so
// `https://registry.ollama.ai/library/llama3.2:3b` runs llama3.2:3b.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { normalizeModel } from '../../src/auth/modelAllowList.js'
import { holds } from '../helpers/fuzz.js'
import { startRig } from '../helpers/gateway.js'

t.test('a per-model quota is not bypassed by a scheme before the registry host', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'spelled' })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: id,
    gateway: '*',
    model: 'llama3.2:3b',
    values: { daily_requests: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const generate = async (model: string) => {
    const response = await request(`${rig.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model, prompt: 'hi', stream: false }),
      headers,
    })
    return { status: response.statusCode, body: (await response.body.json()) as { code?: string } }
  }
  t.equal((await generate('llama3.2:3b')).status, 200, 'the one request of the day')
  for (const model of [
    'https://registry.ollama.ai/library/llama3.2:3b',
    'http://registry.ollama.ai/library/llama3.2:3b',
    'x://Registry.Ollama.AI/library/LLAMA3.2:3b',
    'a/b://registry.ollama.ai/library/llama3.2:3b',
  ]) {
    t.match(await generate(model), { status: 429, body: { code: 'quota_exceeded' } }, model)
  }
})

t.test('normalizeModel: a scheme before the host is dropped, as Ollama drops it', async (t) => {
  const part = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/)
  await holds(
    t,
    'scheme-qualified names normalize like the bare name',
    fc.property(part, part, fc.stringMatching(/^[a-z/][a-z0-9+./-]{0,8}$/), (model, tag, scheme) => {
      const bare = `${model}:${tag}`
      return normalizeModel(`${scheme}://registry.ollama.ai/library/${bare}`) === normalizeModel(bare)
    }),
    2000,
  )
  t.equal(normalizeModel('https://example.com/ns/m'), 'example.com/ns/m:latest', 'another host stays another model')
  t.equal(normalizeModel('https://m'), 'https://m:latest', 'no host part: nothing dropped (Ollama refuses it)')
})
