// Attack (review 2): clients that go away at every point of the JSON routes (during an argon2 login, mid-body, after
// the head, with a 404/405 pending) and of the model-list routes: the gateway must stay up and keep answering.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { hash } from '@node-rs/argon2'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'

function fire(port: number, text: string, closeAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(text)
      setTimeout(() => {
        socket.destroy()
        resolve()
      }, closeAfterMs)
    })
    socket.on('error', () => resolve())
  })
}

t.test('aborts at every point of the JSON and list routes do not touch a gone response', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'abby', role: 'user', passwordHash: await hash('correct horse battery') })
  const { key } = rig.addKey({ username: 'lister', models: ['llama3.2:3b'] })
  const port = rig.gateway.port
  const login = JSON.stringify({ username: 'abby', password: 'correct horse battery' })
  const wrong = JSON.stringify({ username: 'abby', password: 'wrong horse battery' })
  const post = (path: string, body: string, extra = '') =>
    `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`
  const requests = [
    post('/auth/v1/login', login),
    post('/auth/v1/login', wrong),
    post('/auth/v1/login', login).slice(0, -5),
    post('/auth/v1/refresh', '{"refresh_token":"plr_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'),
    post('/auth/v1/keys', '{"name":"x"}', `authorization: Bearer ${key}\r\n`),
    post('/auth/v1/keys', '{"name":"x"}', `authorization: Bearer ${key}\r\n`).slice(0, -3),
    `GET /auth/v1/me HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    `GET /api/tags HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    `HEAD /api/tags HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    `GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    `GET /discovery HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    `GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n`,
    `GET /admin/v1/usage HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\n\r\n`,
    post('/nope', '{"a":1}'),
    post('/auth/v1/me', '{"a":1}'),
    `POST /auth/v1/login HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n10\r\n{"username":"abb`,
  ]
  for (let round = 0; round < 3; round++) {
    await Promise.all(requests.flatMap((text) => [0, 1, 5, 30, 80].map((ms) => fire(port, text, ms))))
  }
  await sleep(300)
  const health = await request(`${rig.url}/health`)
  t.equal(health.statusCode, 200, 'still up')
  await health.body.dump()
  const me = await request(`${rig.url}/auth/v1/me`, { headers: { authorization: `Bearer ${key}` } })
  t.equal(me.statusCode, 200, 'still answering')
  await me.body.dump()
  t.notOk(
    rig.logs.some((line) => /handler failed|internal_error|uncaught/i.test(line)),
    'no handler failure logged',
  )
})
