// Which failures go to another backend, and how often: a property over the number of tries and the body's state.
import { Readable } from 'node:stream'
import fc from 'fast-check'
import t from 'tap'
import { errorRetryReason, mayRetry, statusRetryReason } from '../../src/proxy/retryPolicy.js'
import { ExchangeAbort } from '../../src/proxy/upstreamErrors.js'
import { holds } from '../helpers/fuzz.js'

const coded = (code: string) => Object.assign(new Error(code), { code })

t.test('failure kinds', async (t) => {
  t.equal(errorRetryReason(coded('ECONNREFUSED')), 'connect')
  t.equal(errorRetryReason(coded('UND_ERR_CONNECT_TIMEOUT')), 'connect')
  t.equal(errorRetryReason(coded('ECONNRESET')), 'reset')
  t.equal(errorRetryReason(coded('UND_ERR_SOCKET')), 'reset')
  t.equal(errorRetryReason(coded('UND_ERR_HEADERS_TIMEOUT')), 'first_byte_timeout')
  t.equal(errorRetryReason(coded('UND_ERR_BODY_TIMEOUT')), undefined, 'slow mid-stream is not a failed start')
  for (const reason of ['client_gone', 'total_timeout', 'shutdown'] as const) {
    t.equal(errorRetryReason(new ExchangeAbort(reason)), undefined, `our own abort (${reason})`)
  }
  t.equal(statusRetryReason(503), 'busy')
  t.equal(statusRetryReason(500), 'status_5xx')
  t.equal(statusRetryReason(404), undefined)
  t.equal(statusRetryReason(200), undefined)
})

t.test('a streamed body can be sent again only while nothing read it', async (t) => {
  const stream = new Readable({ read() {} })
  stream.push(Buffer.from('blob'))
  t.ok(mayRetry(1, 2, stream), 'unread')
  stream.read()
  t.notOk(mayRetry(1, 2, stream), 'read')
  const destroyed = new Readable({ read() {} })
  destroyed.destroy()
  t.notOk(mayRetry(1, 2, destroyed), 'destroyed')
})

t.test('never more than upstream.retries retries, whatever the body', async (t) => {
  await holds(
    t,
    'retry bound',
    fc.property(fc.integer({ min: 0, max: 10 }), fc.option(fc.uint8Array()), (retries, bytes) => {
      const body = bytes === null ? null : Buffer.from(bytes)
      let tried = 1
      while (mayRetry(tried, retries, body)) tried++
      return tried === retries + 1
    }),
    1000,
  )
})
