// Server-Timing for a wait in the gateway's queue (issue 13): a queued request's headers say `queue;dur=<ms>` with
// 0.1 ms precision, whatever it waited; a request that was never queued gets nothing added.
import fc from 'fast-check'
import t from 'tap'
import { addQueueTiming } from '../../src/proxy/responseHeaders.js'
import { holds } from '../helpers/fuzz.js'

t.test('queued: one Server-Timing line after the others; not queued: the headers are left as they were', async (t) => {
  const headers = ['content-type', 'application/json', 'x-request-id', 'r1']
  addQueueTiming(headers, { queued: false, queueMs: 12 })
  t.same(headers, ['content-type', 'application/json', 'x-request-id', 'r1'])
  addQueueTiming(headers, { queued: true, queueMs: 1234.56 })
  t.same(headers.slice(4), ['server-timing', 'queue;dur=1234.6'])
  const free: string[] = []
  addQueueTiming(free, { queued: true, queueMs: 0 })
  t.same(free, ['server-timing', 'queue;dur=0'], 'through the queue without waiting: 0')
})

t.test('any wait reads back within 0.05 ms, as a plain decimal number', async (t) => {
  await holds(
    t,
    'queue timing',
    fc.property(fc.double({ min: 0, max: 86_400_000, noNaN: true }), (queueMs) => {
      const headers: string[] = []
      addQueueTiming(headers, { queued: true, queueMs })
      const match = /^queue;dur=(\d+(?:\.\d)?)$/.exec(headers[1]!)
      return (
        headers.length === 2 &&
        headers[0] === 'server-timing' &&
        match !== null &&
        Math.abs(Number(match[1]) - queueMs) <= 0.05 + 1e-9
      )
    }),
    2000,
  )
})
