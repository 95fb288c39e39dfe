// A graceful stop waits for requests whose plugins' onRequest is still deciding (they were admitted before it), like
// those in flight: a decision within the drain is served; past the drain timeout the request is refused
// (503 shutting_down). Either way it is answered once and finished before the usage rows are flushed.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import type { PluginRequest, RequestAction } from '../../src/plugins/plugin.js'
import { pluginModule } from '../helpers/pluginModules.js'
import { startRig } from '../helpers/gateway.js'

const probe = ((globalThis as any).parallamaProbe ??= {}) as {
  onRequest?: (request: PluginRequest) => Promise<RequestAction | undefined> | undefined
}

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hello', stream: false })

for (const [name, drainMs, status] of [
  ['decided within the drain: served', 5000, 200],
  ['still deciding past the drain timeout: refused', 100, 503],
] as const) {
  t.test(`a request in the plugins stage when the gateway stops, ${name}`, async (t) => {
    const rig = await startRig(t, { plugins: [{ module: pluginModule('probe'), timeout: 10_000 }] })
    t.teardown(() => delete probe.onRequest)
    let entered!: () => void
    const inHook = new Promise<void>((resolve) => (entered = resolve))
    probe.onRequest = async () => {
      entered()
      await sleep(600)
      return undefined
    }
    const ended = rig.nextEnd()
    const reply = request(`${rig.url}/api/generate`, { method: 'POST', headers: rig.headers, body }).then(
      async (response) => ({ status: response.statusCode, text: await response.body.text() }),
    )
    await inHook
    const closed = rig.gateway.close(drainMs)
    const answer = await reply
    t.equal(answer.status, status, 'the status the client got')
    if (status === 503) t.match(JSON.parse(answer.text), { error: /shutting down/i })
    const result = await ended
    t.equal(result.status, status, 'finished with what the client got')
    await closed
  })
}
