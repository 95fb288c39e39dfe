// Attack (review 2): the model lists show only what the credential may use — a HEAD request too. Its Content-Length
// was the backend's, the length of the whole unfiltered list, so a restricted key could tell how many models (and
// roughly which) the backend holds.
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('HEAD on a filtered model list does not give away the unfiltered length', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'narrow', models: ['llama3.2:3b'] })
  for (const path of ['/api/tags', '/api/ps', '/ollama/v1/api/tags']) {
    const get = await request(`${rig.url}${path}`, { headers })
    const body = await get.body.text()
    const head = await request(`${rig.url}${path}`, { method: 'HEAD', headers })
    await head.body.dump()
    t.equal(head.statusCode, 200, `HEAD ${path}`)
    const length = head.headers['content-length'] as string | undefined
    t.ok(
      length === undefined || length === '0' || Number(length) === Buffer.byteLength(body),
      `HEAD ${path}: content-length ${length} is not the unfiltered list's (GET gives ${Buffer.byteLength(body)})`,
    )
  }
})
