// HTTP/1.1 pipelining behind a proxied request. uWS v20.30 closes the connection when a request arrives while a
// response is still pending (docs/http.md): the pending request ends as client-aborted (one usage row, the upstream
// request cancelled); the pipelined one never reaches the gateway's code, so it has no row.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startRig } from '../helpers/gateway.js'

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hello' })

/** Writes `first`, then (after `when` resolves) `second`, and collects everything until the gateway closes. */
async function exchange(
  port: number,
  first: string,
  second: string,
  when: 'together' | 'afterFirstBytes' | 'afterFirstEnd',
) {
  const socket = net.connect(port, '127.0.0.1')
  const parts: Buffer[] = []
  let closedBy = ''
  const closed = new Promise<void>((resolve) => {
    socket.on('end', () => (closedBy ||= 'FIN'))
    socket.on('error', (error: NodeJS.ErrnoException) => (closedBy ||= error.code ?? 'error'))
    socket.on('close', () => resolve())
  })
  const firstBytes = new Promise<void>((resolve) => socket.once('data', () => resolve()))
  socket.on('data', (data: Buffer) => parts.push(data))
  if (when === 'together') socket.write(first + second)
  else {
    socket.write(first)
    await firstBytes
    if (when === 'afterFirstEnd') await sleep(300)
    socket.write(second)
  }
  await Promise.race([closed, sleep(2000)])
  const open = !socket.destroyed && closedBy === ''
  socket.destroy()
  return { text: Buffer.concat(parts).toString('latin1'), closedBy, open }
}

const generate = (key: string, id: string, extra = '') =>
  `POST /api/generate HTTP/1.1\r\nhost: g\r\nauthorization: Bearer ${key}\r\nx-request-id: ${id}\r\n${extra}` +
  `content-length: ${body.length}\r\n\r\n${body}`
const version = (key: string, id: string) =>
  `GET /api/version HTTP/1.1\r\nhost: g\r\nauthorization: Bearer ${key}\r\nx-request-id: ${id}\r\n\r\n`

for (const when of ['together', 'afterFirstBytes'] as const) {
  t.test(
    `a request pipelined behind a streaming one (${when}): closed cleanly, the first recorded as aborted`,
    async (t) => {
      const rig = await startRig(t)
      const result = await exchange(
        rig.gateway.port,
        generate(rig.key, `first-${when}`, 'x-emulator-tokens: 400\r\nx-emulator-delay-ms: 10\r\n'),
        version(rig.key, `second-${when}`),
        when,
      )
      t.comment(
        JSON.stringify({ when, closedBy: result.closedBy, bytes: result.text.length, head: result.text.slice(0, 40) }),
      )
      t.equal(result.open, false, 'the gateway closed the connection')
      for (let waited = 0; rig.ended.length === 0 && waited < 5000; waited += 10) await sleep(10)
      const { stats } = rig.emulator
      // Cancelled before it was written upstream (pipelined at once), or while the emulator was streaming it.
      for (let waited = 0; stats.aborted < stats.requests && waited < 5000; waited += 10) await sleep(10)
      t.equal(
        stats.aborted,
        stats.requests,
        `no upstream request left running (${stats.requests} reached the emulator)`,
      )
      await sleep(50)
      t.same(
        rig.ended.map((end) => [end.requestId, end.clientAborted]),
        [[`first-${when}`, true]],
        'one usage row: the first request, client-aborted; none for the pipelined one',
      )
      t.notMatch(result.text, /0\r\n\r\n$/, 'no partial stream that looks complete')
      t.ok(rig.emulator.stats.requests <= 1, 'the pipelined request never went upstream')
    },
  )
}

t.test('a request sent after the previous response ended is served (keep-alive, not pipelining)', async (t) => {
  const rig = await startRig(t)
  const result = await exchange(
    rig.gateway.port,
    generate(rig.key, 'one', 'x-emulator-tokens: 2\r\n'),
    version(rig.key, 'two'),
    'afterFirstEnd',
  )
  t.equal((result.text.match(/HTTP\/1.1 200 OK/g) ?? []).length, 2, 'both answered on one connection')
  t.same(
    rig.ended.map((end) => end.requestId),
    ['one', 'two'],
  )
})

t.test('requests pipelined behind answers the handler gives synchronously are all answered', async (t) => {
  const rig = await startRig(t)
  const result = await exchange(
    rig.gateway.port,
    'GET /nowhere HTTP/1.1\r\nhost: g\r\n\r\n',
    'GET /also-nowhere HTTP/1.1\r\nhost: g\r\n\r\n',
    'together',
  )
  t.equal((result.text.match(/HTTP\/1.1 404 Not Found/g) ?? []).length, 2, 'two 404s, in order')
  t.ok(result.text.indexOf('/nowhere') < result.text.indexOf('/also-nowhere'))
})
