// Attack: abort at every step of a request (head sent, half a body, whole body before the reply, mid-stream), over and
// over, on several routes. Afterwards every concurrency slot (the caller's and the address guard's) is free again and
// every request left exactly one record.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

t.test('aborts at every step leak no slot and lose no record', async (t) => {
  const rig = await startRig(t)
  const { id, headers } = rig.addKey({ username: 'quitter' })
  rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values: { concurrency: 1 } })
  rig.gateway.store.limits.set({
    subjectType: 'ip',
    subject: '127.0.0.0/8',
    gateway: '*',
    model: '',
    values: { concurrency: 1 },
  })
  rig.gateway.authenticator.pollChanges()
  const port = Number(new URL(rig.url).port)
  const routes: [string, string][] = [
    ['/api/generate', '{"model":"llama3.2:3b","prompt":"a long story"}'],
    ['/api/chat', '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}'],
    ['/v1/chat/completions', '{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"hi"}]}'],
    ['/v1/responses', '{"model":"llama3.2:3b","stream":true,"input":"hi"}'],
    [
      '/v1/messages',
      '{"model":"llama3.2:3b","stream":true,"max_tokens":900,"messages":[{"role":"user","content":"hi"}]}',
    ],
    ['/api/embed', '{"model":"nomic-embed-text","input":"hi"}'],
  ]
  const cuts = ['head', 'half-body', 'whole-body', 'after-first-bytes']
  let sent = 0
  const before = rig.ended.length
  for (const [path, body] of routes) {
    for (const cut of cuts) {
      const socket = net.connect(port, '127.0.0.1')
      socket.on('error', () => {})
      await new Promise((resolve) => socket.once('connect', resolve))
      const head =
        `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${headers.authorization}\r\nx-emulator-tokens: 400\r\n` +
        `x-emulator-delay-ms: 2\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
      sent++
      if (cut === 'head') socket.write(head)
      else if (cut === 'half-body') socket.write(head + body.slice(0, body.length >> 1))
      else socket.write(head + body)
      if (cut === 'after-first-bytes') await new Promise((resolve) => socket.once('data', resolve))
      else await sleep(cut === 'whole-body' ? 1 : 30)
      socket.destroy()
      for (let wait = 0; wait < 40 && rig.ended.length < before + sent; wait++) await sleep(25)
    }
  }
  await sleep(200)
  t.equal(rig.ended.length - before, sent, `${sent} abandoned requests, as many records`)
  const response = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
    headers,
  })
  await response.body.dump()
  t.equal(response.statusCode, 200, 'the key and the address each have their one slot back')
})
