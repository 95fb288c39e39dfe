// Attack: the model named by GET /v1/models/{model} is a model name like any other: the same rule as a body's
// "model" (visible ASCII, bounded), so a control byte, a non-ASCII letter that JavaScript lower-cases to ASCII (the
// Kelvin sign), or a 3 KB name never reaches an allow-list check, a log line or a usage row.
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('GET /v1/models/{model}: the name is checked like a body model', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'pathy', models: ['kimi:latest'] })
  for (const [path, what] of <[string, string][]>[
    ['/v1/models/%E2%84%AAimi', 'a Kelvin sign the allow-list would read as k'],
    ['/v1/models/llama3.2%0A:3b', 'a newline'],
    ['/v1/models/llama3.2%00', 'a NUL'],
    [`/v1/models/${'a'.repeat(3000)}`, 'a 3000-character name'],
  ]) {
    const response = await request(`${rig.url}${path}`, { headers })
    const body = (await response.body.json()) as { error?: { code?: string } }
    t.equal(response.statusCode, 400, what)
    t.match(body, { error: { code: 'invalid_request' } }, what)
  }
  const ok = await request(`${rig.url}/v1/models/kimi`, { headers })
  await ok.body.dump()
  t.not(ok.statusCode, 400, 'a plain name goes on (the emulator does not know it)')
})
