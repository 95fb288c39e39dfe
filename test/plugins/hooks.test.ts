// Each hook on the four paths (native and OpenAI, streamed and whole) through the real gateway: onRequest sees the
// request and may rewrite, refuse or answer; onResponseChunk sees exactly the bytes the client gets; onEnd gets the
// result the usage row is made from. A plugin that throws, rejects or hangs fails only its request (500 plugin_error).
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'
import { request } from 'undici'
import type { ChunkInfo, PluginRequest, PluginResult, RequestAction } from '../../src/plugins/plugin.js'
import { pluginModule } from '../helpers/pluginModules.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const example = (name: string) => projectPath(`dist/src/plugins/examples/${name}`)

interface Probe {
  onRequest?: (request: PluginRequest) => RequestAction | undefined | Promise<RequestAction | undefined>
  onResponseChunk?: (chunk: Buffer, info: ChunkInfo) => void
  onEnd?: (result: PluginResult) => void
}
const probe = ((globalThis as { parallamaProbe?: Probe }).parallamaProbe ??= {})

interface Path {
  name: string
  url: string
  dialect: 'ollama' | 'openai'
  body: (model: string) => Record<string, unknown>
  stream: boolean
}
const paths: Path[] = [
  {
    name: 'native whole',
    url: '/api/generate',
    dialect: 'ollama',
    stream: false,
    body: (model) => ({ model, prompt: 'hi', stream: false }),
  },
  {
    name: 'native stream',
    url: '/api/chat',
    dialect: 'ollama',
    stream: true,
    body: (model) => ({ model, messages: [{ role: 'user', content: 'hi' }] }),
  },
  {
    name: 'openai whole',
    url: '/v1/chat/completions',
    dialect: 'openai',
    stream: false,
    body: (model) => ({ model, messages: [{ role: 'user', content: 'hi' }] }),
  },
  {
    name: 'openai stream',
    url: '/v1/chat/completions',
    dialect: 'openai',
    stream: true,
    body: (model) => ({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  },
]

async function send(rig: Rig, path: Path, headers: Record<string, string>, model = 'llama3.2:3b') {
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}${path.url}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(path.body(model)),
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, result: await ended }
}

t.test('plugin hooks on the four paths', async (t) => {
  const rig = await startRig(t, {
    plugins: [
      { module: pluginModule('probe'), timeout: '50ms' },
      { module: example('headerStamp.js'), options: { header: 'x-served-by', value: 'gw-test' } },
    ],
  })
  t.teardown(() => {
    for (const key of Object.keys(probe)) delete probe[key as keyof Probe]
  })
  const user = rig.addKey({ models: ['llama3.2:3b', 'qwen2.5:0.5b'] })

  for (const path of paths) {
    t.test(`${path.name}: onRequest, onResponseChunk and onEnd see the request, every byte, the usage`, async (t) => {
      const seen: PluginRequest[] = []
      const chunks: Buffer[] = []
      const infos: ChunkInfo[] = []
      const ends: PluginResult[] = []
      probe.onRequest = (request) => void seen.push(request)
      probe.onResponseChunk = (chunk, info) => {
        chunks.push(Buffer.from(chunk))
        infos.push({ ...info })
      }
      probe.onEnd = (result) => void ends.push(result)
      const reply = await send(rig, path, user.headers)
      t.equal(reply.status, 200)
      t.equal(reply.headers['x-served-by'], 'gw-test', 'the header-stamp example stamped the reply')
      t.equal(seen.length, 1)
      const [request] = seen
      t.match(request, { api: path.dialect === 'ollama' ? 'ollama' : 'openai', method: 'POST', path: path.url })
      t.equal(request!.model, 'llama3.2:3b')
      t.equal(request!.stream, path.stream)
      t.equal(request!.requestId, reply.headers['x-request-id'])
      t.same(request!.caller, {
        userId: reply.result.userId,
        username: reply.result.username,
        role: 'user',
        keyId: user.id,
      })
      t.notOk(JSON.stringify(request!.caller).includes(user.key), 'the credential is never shown')
      t.same(request!.json(), path.body('llama3.2:3b'))
      t.equal(Buffer.concat(chunks).toString(), reply.text, 'the chunks are exactly the bytes the client got')
      t.ok(chunks.length >= (path.stream ? 3 : 1))
      t.equal(infos[0]!.status, 200)
      t.match(infos[0]!.contentType, path.stream ? (path.dialect === 'ollama' ? /ndjson/ : /event-stream/) : /json/)
      t.equal(ends.length, 1)
      t.equal(ends[0], reply.result, 'onEnd gets the result the usage row is made from')
      t.ok(
        (ends[0]!.usage?.promptTokens ?? 0) > 0 && (ends[0]!.usage?.completionTokens ?? 0) > 0,
        'with its exact usage',
      )
    })

    t.test(`${path.name}: a rewrite of the model runs the new model; a disallowed one is refused`, async (t) => {
      probe.onRequest = () => ({ rewrite: { model: 'qwen2.5:0.5b' } })
      const allowed = await send(rig, path, user.headers)
      t.equal(allowed.status, 200)
      t.equal(allowed.result.model, 'qwen2.5:0.5b', 'recorded (and limited) as the model that ran')
      t.equal(rig.emulator.stats.lastPath, path.url)
      probe.onRequest = () => ({ rewrite: { model: 'forbidden:7b' } })
      const before = rig.emulator.stats.requests
      const refused = await send(rig, path, user.headers)
      t.equal(refused.status, 403)
      t.equal(refused.headers['x-parallama-error'], 'model_not_allowed')
      t.equal(rig.emulator.stats.requests, before, 'nothing reached the backend')
      t.equal(refused.result.backend, null)
    })

    t.test(`${path.name}: a refusal in the route's dialect, with the plugin's status and code`, async (t) => {
      probe.onRequest = () => ({ refuse: { status: 451, code: 'policy.blocked', message: 'not on this gateway' } })
      const reply = await send(rig, path, user.headers)
      t.equal(reply.status, 451)
      t.equal(reply.headers['x-parallama-error'], 'plugin_refused')
      const body = JSON.parse(reply.text)
      if (path.dialect === 'ollama') t.same(body, { error: 'not on this gateway', code: 'policy.blocked' })
      else t.match(body, { error: { message: 'not on this gateway', code: 'policy.blocked' } })
      t.match(reply.result, { status: 451, errorCode: 'plugin_refused', backend: null })
      probe.onRequest = () => ({ refuse: { status: 401, code: 'sso_required', message: 'log in through SSO' } })
      const unauthorized = await send(rig, path, user.headers)
      t.equal(unauthorized.status, 401)
      const code = JSON.parse(unauthorized.text)
      t.equal(path.dialect === 'ollama' ? code.code : code.error.code, 'sso_required', 'a 401 keeps the plugin code')
    })

    t.test(`${path.name}: an answer without a backend, whole or in chunks`, async (t) => {
      const before = rig.emulator.stats.requests
      const chunks: Buffer[] = []
      probe.onResponseChunk = (chunk) => void chunks.push(Buffer.from(chunk))
      probe.onRequest = (request) =>
        request.stream
          ? {
              answer: {
                headers: { 'content-type': 'application/x-ndjson' },
                chunks: ['{"a":1}\n', Buffer.from('{"b":2}\n')],
              },
            }
          : { answer: { status: 203, body: '{"cached":true}' } }
      const reply = await send(rig, path, user.headers)
      t.equal(reply.status, path.stream ? 200 : 203)
      t.equal(reply.text, path.stream ? '{"a":1}\n{"b":2}\n' : '{"cached":true}')
      t.notOk(reply.headers['x-served-by'], 'an answer ends the chain: the later plugin did not run')
      t.equal(Buffer.concat(chunks).toString(), reply.text)
      t.equal(rig.emulator.stats.requests, before, 'no backend')
      t.match(reply.result, { status: path.stream ? 200 : 203, backend: null, errorCode: undefined, usage: undefined })
      t.equal(reply.result.bytesOut, Buffer.byteLength(reply.text))
    })

    t.test(
      `${path.name}: a hook that throws, rejects or hangs is a 500 plugin_error, and the next request works`,
      async (t) => {
        for (const [how, hook] of [
          [
            'throws',
            () => {
              throw new Error('boom')
            },
          ],
          ['rejects', () => Promise.reject(new Error('boom'))],
          ['hangs', () => new Promise<undefined>(() => {})],
          ['returns junk', () => 42 as unknown as RequestAction],
          ['refuses with a bad code', () => ({ refuse: { status: 451, code: 'Bad Code!', message: 'x' } })],
          ['refuses with a 5xx', () => ({ refuse: { status: 503, code: 'busy', message: 'x' } })],
          ['sets a split header', () => ({ headers: { 'x-a': 'b\r\nset-cookie: x' } })],
        ] as [string, Probe['onRequest']][]) {
          probe.onRequest = hook
          const reply = await send(rig, path, user.headers)
          t.equal(reply.status, 500, how)
          t.equal(reply.headers['x-parallama-error'], 'plugin_error', how)
          t.notOk(reply.headers['set-cookie'], 'no header smuggled')
          t.match(reply.result, { status: 500, errorCode: 'plugin_error', backend: null })
          const logged = rig.logs.find(
            (line) => line.includes(reply.result.requestId) && line.includes('"plugin":"probe"'),
          )
          t.ok(logged, `${how}: logged with the plugin's name and the request id`)
          if (how === 'hangs')
            t.match(
              JSON.parse(reply.text),
              path.dialect === 'ollama' ? { error: /within 50 ms/ } : { error: { message: /within 50 ms/ } },
            )
        }
        probe.onRequest = undefined
        t.equal((await send(rig, path, user.headers)).status, 200, 'the process and the next request go on')
      },
    )

    t.test(
      `${path.name}: onResponseChunk and onEnd that throw break neither the stream nor the usage row`,
      async (t) => {
        probe.onRequest = undefined
        probe.onResponseChunk = () => {
          throw new Error('chunk boom')
        }
        probe.onEnd = () => {
          throw new Error('end boom')
        }
        const failuresBefore = rig.gateway.plugins.stats.observerFailures
        const reply = await send(rig, path, user.headers)
        t.equal(reply.status, 200)
        t.ok(reply.result.usage?.completionTokens, 'usage counted')
        t.ok(rig.gateway.plugins.stats.observerFailures > failuresBefore, 'counted')
        probe.onResponseChunk = undefined
        probe.onEnd = undefined
      },
    )
  }
})

t.test('config timeout and a plugin that fails to load', async (t) => {
  t.test('a start-up with a broken plugin stops, naming the module', async (t) => {
    await t.rejects(startRig(t, { plugins: [{ module: pluginModule('broken') }] }), {
      message: /broken\.mjs: its factory failed: broken on purpose/,
    })
    await t.rejects(startRig(t, { plugins: [{ module: '/nonexistent/plugin.mjs' }] }), {
      message: /\/nonexistent\/plugin\.mjs: cannot import it/,
    })
  })
})
