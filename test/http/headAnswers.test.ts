// A response to HEAD never carries a body, also when the gateway answers it itself (401, 403, 404, 405, a refusal):
// a body there would be read by the client as the start of the next response on the same connection. Every path of
// the route table (and unknown ones) is asked with HEAD, with and without a credential, each followed on the same
// connection by `GET /`, whose answer must then come out whole and in order.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { routeTable } from '../../src/api/routeTable.js'
import { startRig } from '../helpers/gateway.js'

/** Sends `HEAD path` then `GET /` after the first answer; returns everything read until the second one ended. */
async function headThenGet(port: number, path: string, authorization?: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  const parts: Buffer[] = []
  socket.on('data', (data: Buffer) => parts.push(data))
  socket.on('error', () => {})
  const credential = authorization ? `Authorization: ${authorization}\r\n` : ''
  socket.write(`HEAD ${path} HTTP/1.1\r\nHost: gateway\r\n${credential}\r\n`)
  // The second request waits for the first answer (uWS closes a connection pipelined behind a pending response).
  for (let waited = 0; parts.length === 0 && waited < 5000; waited += 10) await sleep(10)
  await sleep(50)
  socket.write('GET / HTTP/1.1\r\nHost: gateway\r\n\r\n')
  const done = () => Buffer.concat(parts).toString('latin1').endsWith('Ollama is running')
  for (let waited = 0; !done() && waited < 5000; waited += 10) await sleep(10)
  socket.destroy()
  return Buffer.concat(parts).toString('latin1')
}

/** The status lines, and what follows the first head (must be exactly the second response). */
function framing(text: string): { statuses: string[]; afterFirstHead: string } {
  const end = text.indexOf('\r\n\r\n')
  return {
    statuses: [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => match[1]!),
    afterFirstHead: end < 0 ? '' : text.slice(end + 4),
  }
}

t.test('HEAD on every path, answered by the gateway or the backend: no body, the next response intact', async (t) => {
  const rig = await startRig(t)
  const reader = rig.addKey({ username: 'reader', role: 'readonly' })
  const paths = new Set<string>(['/nowhere', '/api/nowhere', '/v1/nowhere', '/auth/v1/nowhere', '/admin/v1/nowhere'])
  for (const route of routeTable) {
    for (const path of route.paths) paths.add(path.replace(':digest', `sha256:${'0'.repeat(64)}`).replace(':id', '1'))
  }
  for (const path of paths) {
    for (const authorization of [undefined, reader.headers.authorization, rig.headers.authorization]) {
      const text = await headThenGet(rig.gateway.port, path, authorization)
      const { statuses, afterFirstHead } = framing(text)
      const who =
        authorization === undefined ? 'anonymous' : authorization === rig.headers.authorization ? 'admin' : 'reader'
      t.equal(statuses.length, 2, `HEAD ${path} (${who}): two responses (${statuses.join(', ')})`)
      t.match(afterFirstHead, /^HTTP\/1\.1 200 OK\r\n/, `HEAD ${path} (${who}): no body before the next response`)
    }
  }
})

t.test('HEAD on a GET-only local route answers as GET does, without the body', async (t) => {
  const rig = await startRig(t)
  for (const [path, authorization] of [
    ['/health', undefined],
    ['/auth/v1/me', rig.headers.authorization],
    ['/metrics', rig.headers.authorization],
  ] as const) {
    const headers = authorization ? { authorization } : undefined
    const got = await fetch(`${rig.url}${path}`, { headers })
    const body = Buffer.from(await got.arrayBuffer())
    const head = await fetch(`${rig.url}${path}`, { method: 'HEAD', headers })
    t.equal(head.status, got.status, `HEAD ${path}: GET's status`)
    t.equal(head.headers.get('content-type'), got.headers.get('content-type'), `HEAD ${path}: GET's content type`)
    // /metrics changes between two scrapes (a counter passes 9 to 10, the event-loop lag moves): its length as GET
    // has it then, within a few bytes; the other answers are the same bytes each time.
    const length = Number(head.headers.get('content-length'))
    if (path === '/metrics') t.ok(Math.abs(length - body.length) <= 32, `HEAD ${path}: about the length GET's body has`)
    else t.equal(length, body.length, `HEAD ${path}: the length GET's body has`)
    t.equal((await head.arrayBuffer()).byteLength, 0, `HEAD ${path}: no body`)
  }
})
