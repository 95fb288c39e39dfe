// Server-Timing for a wait in the gateway's queue (issue 13): a queued request's headers say `queue;dur=<ms>` with
// 0.1 ms precision, whatever it waited, before the gateway's own entries; a request never queued gets nothing.
import fc from 'fast-check'
import t from 'tap'
import { queueTiming } from '../../src/proxy/responseHeaders.js'
import { holds } from '../helpers/fuzz.js'

t.test('queued: an entry before the gateway’s own; not queued: nothing', async (t) => {
  t.equal(queueTiming({ queued: false, queueMs: 12 }), '')
  t.equal(queueTiming({ queued: true, queueMs: 1234.56 }), 'queue;dur=1234.6, ')
  t.equal(queueTiming({ queued: true, queueMs: 0 }), 'queue;dur=0, ', 'through the queue without waiting: 0')
})

t.test('any wait reads back within 0.05 ms, as a plain decimal number', async (t) => {
  await holds(
    t,
    'queue timing',
    fc.property(fc.double({ min: 0, max: 86_400_000, noNaN: true }), (queueMs) => {
      const match = /^queue;dur=(\d+(?:\.\d)?), $/.exec(queueTiming({ queued: true, queueMs }))
      return match !== null && Math.abs(Number(match[1]) - queueMs) <= 0.05 + 1e-9
    }),
    2000,
  )
})
