// Attack: go away while the gateway is still reading the request body. The address guard's concurrency slot taken
// before the body must be freed, and the request must still leave its one usage row.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('an abort mid-body frees the address slot and is recorded', async (t) => {
  const rig = await startRig(t)
  const { headers } = rig.addKey({ username: 'halfbody' })
  rig.gateway.store.limits.set({
    subjectType: 'ip',
    subject: '127.0.0.0/8',
    gateway: '*',
    model: '',
    values: { concurrency: 2 },
  })
  rig.gateway.authenticator.pollChanges()
  const port = new URL(rig.url).port
  for (const path of ['/api/generate', '/v1/chat/completions']) {
    for (let i = 0; i < 3; i++) {
      const before = rig.ended.length
      const socket = net.connect(Number(port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${headers.authorization}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"llama3.2:3b",',
      )
      await sleep(100)
      socket.destroy()
      for (let wait = 0; wait < 20 && rig.ended.length === before; wait++) await sleep(50)
      await sleep(50)
      t.equal(rig.ended.length, before + 1, `${path} #${i + 1}: one record for the abandoned request`)
      t.match(rig.ended.at(-1), {
        clientAborted: true,
        route: path.endsWith('generate') ? 'generate' : 'chat_completions',
      })
    }
  }
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
    headers,
  })
  await response.body.dump()
  t.equal(response.statusCode, 200, 'the address still has its 2 slots')
})
