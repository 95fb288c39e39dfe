// POST /admin/v1/models/pull streams NDJSON for as long as the pulls run. A client that stops reading (the kernel's
// buffers fill and the gateway must hold back) and then leaves at any moment — before the head, mid-stream, while
// backpressured — must not crash the process (uWS aborts it when an aborted response is touched) nor leave a slot
// held: after every generated run the gateway still answers and a whole pull still completes.
import fc from 'fast-check'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startRig } from '../helpers/gateway.js'

t.test('a pull whose client stalls and leaves at any moment', async (t) => {
  const rig = await startRig(t, {}, { knobs: { tokens: 1000 } })
  const port = Number(new URL(rig.url).port)
  const pullRequest = (model: string): string => {
    const body = JSON.stringify({ model })
    return (
      `POST /admin/v1/models/pull HTTP/1.1\r\nhost: x\r\nauthorization: ${rig.headers.authorization}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    )
  }
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        readBytesFirst: fc.integer({ min: 0, max: 200_000 }),
        stallMs: fc.integer({ min: 0, max: 30 }),
        how: fc.constantFrom('destroy', 'reset', 'half-close'),
        splitRequest: fc.boolean(),
      }),
      async ({ readBytesFirst, stallMs, how, splitRequest }) => {
        const socket = net.connect(port, '127.0.0.1')
        socket.setNoDelay(true)
        socket.on('error', () => {})
        let read = 0
        socket.on('data', (data: Buffer) => {
          read += data.length
          if (read >= readBytesFirst) socket.pause()
        })
        const text = pullRequest('llama3:8b')
        if (splitRequest) {
          socket.write(text.slice(0, text.length - 3))
          if (readBytesFirst === 0) {
            socket.destroy()
            return
          }
          socket.write(text.slice(-3))
        } else socket.write(text)
        await sleep(stallMs)
        if (how === 'destroy') socket.destroy()
        else if (how === 'reset') socket.resetAndDestroy()
        else socket.end()
      },
    ),
    { numRuns: 40 },
  )
  // Still alive, and a whole pull by a patient client ends with success.
  const response = await fetch(rig.url + '/admin/v1/models/pull', {
    method: 'POST',
    headers: { ...rig.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3:8b' }),
  })
  t.equal(response.status, 200)
  const lines = (await response.text()).trim().split('\n')
  t.match(JSON.parse(lines.at(-1)!), { status: 'success' })
  t.equal((await fetch(rig.url + '/admin/v1/users', { headers: rig.headers })).status, 200)
})
