// Attack (issue 12 review): an attempt cut off by webhooks.timeout was recorded with the error "23" (the numeric
// code of the DOMException AbortSignal.timeout throws), which `webhook deliveries` showed as the last error. The
// recorded error must say what happened.
import { createServer } from 'node:http'
import t from 'tap'
import { httpSend } from '../../src/events/deliverer.js'

t.test('a receiver that never answers is recorded as a timeout', async (t) => {
  const server = createServer((request) => request.resume())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as { port: number }
  const outcome = await httpSend(`http://127.0.0.1:${port}/`, '{}', { 'content-type': 'application/json' }, 200)
  t.same(outcome, { status: null, error: 'timeout' })
})
