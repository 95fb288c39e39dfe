// request.failed is held to one event per kind (error, backend) per interval: generated bursts of failures over a
// fake clock never lose a failure from view (events + their `suppressed` counts = failures) and never send two events
// of one kind closer than the interval, except the one that ends a held-back run.
import fc from 'fast-check'
import t from 'tap'
import { requestFailures } from '../../src/events/requestFailures.js'
import type { EventPayloads } from '../../src/events/events.js'
import type { ExchangeResult } from '../../src/proxy/exchange.js'

function failed(id: number, code: 'upstream_unreachable' | 'upstream_timeout', backend: string | null): ExchangeResult {
  return {
    requestId: `r${id}`,
    time: 0,
    api: 'ollama',
    route: 'generate',
    usesTokens: true,
    queueMs: 0,
    model: 'llama3.2:3b',
    userId: 1,
    username: 'u',
    keyId: 'k',
    backend,
    status: code === 'upstream_timeout' ? 504 : 502,
    errorCode: code,
    usage: undefined,
    chunks: 0,
    clientAborted: false,
    bytesIn: 0,
    bytesOut: 0,
    clientIp: '127.0.0.1',
    startedAt: 0,
    dispatchedAt: 0,
    firstByteAt: 0,
    endedAt: 0,
  }
}

/** A fake clock with the timers the throttle schedules. */
function fakeTime() {
  let now = 0
  const timers: { at: number; run: () => void }[] = []
  return {
    now: () => now,
    schedule: (run: () => void, ms: number) => void timers.push({ at: now + ms, run }),
    advance(ms: number) {
      const until = now + ms
      for (;;) {
        timers.sort((a, b) => a.at - b.at)
        const next = timers[0]
        if (!next || next.at > until) break
        timers.shift()
        now = next.at
        next.run()
      }
      now = until
    },
  }
}

t.test('every failure is counted once, no kind more often than the interval', async () => {
  const step = fc.record({
    gap: fc.integer({ min: 0, max: 3000 }),
    code: fc.constantFrom('upstream_unreachable' as const, 'upstream_timeout' as const),
    backend: fc.constantFrom('a', 'b', null),
    ok: fc.boolean(),
  })
  fc.assert(
    fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: 0, max: 5000 }), (steps, interval) => {
      const time = fakeTime()
      const sent: { at: number; data: EventPayloads['request.failed'] }[] = []
      const observe = requestFailures({
        emit: (_type, data) => void sent.push({ at: time.now(), data }),
        intervalMs: () => interval,
        now: time.now,
        schedule: time.schedule,
      })
      let failures = 0
      steps.forEach((each, id) => {
        time.advance(each.gap)
        const result = failed(id, each.code, each.backend)
        if (each.ok) observe({ ...result, status: 200, errorCode: undefined })
        else {
          failures++
          observe(result)
        }
      })
      time.advance(interval + 1)
      const counted = sent.reduce((sum, event) => sum + 1 + event.data.suppressed, 0)
      if (counted !== failures) return false
      if (interval === 0) return sent.every((event) => event.data.suppressed === 0)
      const last = new Map<string, number>()
      for (const event of sent) {
        const kind = `${event.data.error} ${event.data.backend}`
        const previous = last.get(kind)
        if (previous !== undefined && event.at - previous < interval) return false
        last.set(kind, event.at)
      }
      return true
    }),
    { numRuns: 500 },
  )
})

t.test('a burst: the first at once, the rest in one event when the interval ends', async (t) => {
  const time = fakeTime()
  const sent: EventPayloads['request.failed'][] = []
  const observe = requestFailures({
    emit: (_type, data) => void sent.push(data),
    intervalMs: () => 10_000,
    now: time.now,
    schedule: time.schedule,
  })
  for (let id = 0; id < 1000; id++) observe(failed(id, 'upstream_unreachable', 'a'))
  observe(failed(1000, 'upstream_timeout', 'a'))
  t.same(
    sent.map((event) => [event.request_id, event.suppressed]),
    [
      ['r0', 0],
      ['r1000', 0],
    ],
  )
  time.advance(10_000)
  t.same(
    sent.slice(2).map((event) => [event.request_id, event.error, event.suppressed]),
    [['r999', 'upstream_unreachable', 998]],
    'the latest held back, counting the 998 before it',
  )
})
