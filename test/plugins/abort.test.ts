// A client that leaves while a plugin's onRequest is still running: the request ends once (one usage row, one onEnd),
// its limits are freed (a concurrency of 1 admits the next request), and whatever the plugin decides afterwards
// (go on, answer, refuse) is dropped: nothing reaches the backend and nothing is written to the gone client.
import net from 'node:net'
import t from 'tap'
import { request } from 'undici'
import type { PluginRequest, PluginResult, RequestAction } from '../../src/plugins/plugin.js'
import { pluginModule } from '../helpers/pluginModules.js'
import { startRig } from '../helpers/gateway.js'

const probe = ((globalThis as any).parallamaProbe ??= {}) as {
  onRequest?: (request: PluginRequest) => RequestAction | undefined | Promise<RequestAction | undefined>
  onEnd?: (result: PluginResult) => void
}

t.test('a client gone during onRequest ends its request once and frees its limits', async (t) => {
  const rig = await startRig(t, { plugins: [{ module: pluginModule('probe') }] })
  t.teardown(() => {
    delete probe.onRequest
    delete probe.onEnd
  })
  const user = rig.addKey({ username: 'leaver' })
  rig.gateway.store.limits.set({
    subjectType: 'user',
    subject: 'leaver',
    gateway: '*',
    model: '',
    values: { concurrency: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const port = Number(new URL(rig.url).port)
  const ends: PluginResult[] = []
  probe.onEnd = (result) => void ends.push(result)
  const decisions: [string, RequestAction | undefined][] = [
    ['go on', undefined],
    ['answer', { answer: { body: '{"late":true}' } }],
    ['refuse', { refuse: { status: 403, code: 'late', message: 'late' } }],
  ]
  for (const [name, decision] of decisions) {
    let decide!: (action: RequestAction | undefined) => void
    const called = new Promise<void>((resolve) => {
      probe.onRequest = () => {
        resolve()
        return new Promise((settle) => (decide = settle))
      }
    })
    const before = rig.emulator.stats.requests
    const ended = rig.nextEnd()
    const socket = net.connect(port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false })
    socket.write(
      `POST /api/generate HTTP/1.1\r\nHost: x\r\nAuthorization: ${user.headers.authorization}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    )
    await called
    socket.destroy()
    const gone = await ended
    t.match(gone, { clientAborted: true, backend: null }, `${name}: recorded as gone`)
    decide(decision)
    probe.onRequest = undefined
    const next = rig.nextEnd()
    const response = await request(`${rig.url}/api/generate`, { method: 'POST', headers: user.headers, body })
    await response.body.text()
    await next
    t.equal(response.statusCode, 200, `${name}: the concurrency slot was freed`)
    t.equal(rig.emulator.stats.requests, before + 1, `${name}: only the next request reached the backend`)
    t.equal(rig.ended.filter((result) => result.requestId === gone.requestId).length, 1, `${name}: one row`)
    t.equal(ends.filter((result) => result.requestId === gone.requestId).length, 1, `${name}: one onEnd`)
  }
})
