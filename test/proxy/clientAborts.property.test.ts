// Property: whatever the backend does (1xx first, whole or streamed replies, resets, stalls, bodies that fill every
// buffer) and wherever the client leaves (before the head, after some bytes, while not reading, by pipelining a
// second request), the process survives, nothing is rejected unhandled, and every request ends exactly once (one
// usage row). uWS terminates the process when a response is touched after onAborted: a slip would end this test.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { startRig } from '../helpers/gateway.js'
import { holds } from '../helpers/fuzz.js'
import { startRawBackend, type Behaviour } from '../helpers/rawBackend.js'

type ClientMove =
  | { kind: 'reads' }
  | { kind: 'leavesAfterMs'; ms: number }
  | { kind: 'leavesAfterBytes'; bytes: number }
  | { kind: 'stopsReading'; ms: number }
  | { kind: 'pipelines'; ms: number }

const behaviour: fc.Arbitrary<Behaviour> = fc.record({
  informational: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 3 }),
  final: fc.constantFrom('whole', 'stream', 'large', 'reset', 'stall', 'resetMid', 'stallMid'),
  lines: fc.integer({ min: 1, max: 2500 }),
  gapMs: fc.integer({ min: 0, max: 5 }),
})

const move: fc.Arbitrary<ClientMove> = fc.oneof(
  fc.constant({ kind: 'reads' as const }),
  fc.record({ kind: fc.constant('leavesAfterMs' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ kind: fc.constant('leavesAfterBytes' as const), bytes: fc.integer({ min: 1, max: 200_000 }) }),
  fc.record({ kind: fc.constant('stopsReading' as const), ms: fc.integer({ min: 20, max: 300 }) }),
  fc.record({ kind: fc.constant('pipelines' as const), ms: fc.integer({ min: 0, max: 30 }) }),
)

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hello' })

t.test('every request ends exactly once, whatever the backend does and wherever the client leaves', async (t) => {
  const failures: unknown[] = []
  const onFailure = (error: unknown) => failures.push(error)
  process.on('unhandledRejection', onFailure)
  process.on('uncaughtException', onFailure)
  t.teardown(() => {
    process.off('unhandledRejection', onFailure)
    process.off('uncaughtException', onFailure)
  })
  const backend = await startRawBackend()
  t.teardown(() => backend.close())
  const rig = await startRig(t, {
    backends: [{ url: backend.url, name: 'raw' }],
    timeouts: { first_byte: '300ms', idle: '300ms', total: '1200ms' },
  })
  let serial = 0
  const endsOf = (id: string) => rig.ended.filter((result) => result.requestId === id).length

  /** The request's id, and whether its bytes left the client (one that leaves at once may never have sent it). */
  const run = async (what: Behaviour, how: ClientMove): Promise<{ id: string; sent: boolean }> => {
    const id = `abort-${++serial}`
    const head =
      `POST /api/generate HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${rig.key}\r\nx-request-id: ${id}\r\n` +
      `x-behaviour: ${JSON.stringify(what)}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`
    const socket = net.connect(rig.gateway.port, '127.0.0.1')
    socket.on('error', () => {})
    let received = 0
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.on('data', (data: Buffer) => {
      received += data.length
      if (how.kind === 'leavesAfterBytes' && received >= how.bytes) socket.destroy()
    })
    let sent = false
    socket.write(head + body, (error) => (sent = !error))
    const ended = async () => {
      for (let waited = 0; endsOf(id) === 0 && waited < 8000; waited += 10) await sleep(10)
    }
    if (how.kind === 'leavesAfterMs') {
      await sleep(how.ms)
      socket.destroy()
    } else if (how.kind === 'stopsReading') {
      socket.pause()
      await sleep(how.ms)
      socket.destroy()
    } else if (how.kind === 'pipelines') {
      await sleep(how.ms)
      if (!socket.destroyed) socket.write(`GET /api/version HTTP/1.1\r\nhost: gateway\r\n\r\n`)
    }
    await Promise.race([ended(), closed])
    await ended()
    socket.destroy()
    return { id, sent }
  }

  await holds(
    t,
    'client aborts × backend behaviours: one end each, no crash',
    fc.asyncProperty(fc.array(fc.tuple(behaviour, move), { minLength: 1, maxLength: 3 }), async (cases) => {
      const runs = await Promise.all(cases.map(([what, how]) => run(what, how)))
      await sleep(30)
      for (const { id, sent } of runs) {
        // Exactly once; a request whose bytes never left its client (gone at once, on a loaded machine) is not seen.
        const ends = endsOf(id)
        if (ends > 1 || (ends === 0 && sent)) throw new Error(`${id} ended ${ends} times`)
      }
      if (failures.length > 0) throw failures[0]
    }),
    60,
    0.0005,
  )
  const after = await request(`${rig.url}/api/generate`, {
    method: 'POST',
    body,
    headers: { ...rig.headers, 'x-behaviour': JSON.stringify({ informational: [103], final: 'stream' }) },
  })
  t.equal(after.statusCode, 200, 'the gateway still serves')
  t.match(await after.body.text(), /"done":true/)
  t.same(failures, [], 'no unhandled rejection or exception')
})
