// Fairness over simulated time: users run closed loops of requests (each keeps a number outstanding) against one
// backend, every running request streams one output token per millisecond and is charged as it streams. VTC's
// guarantee: between two continuously backlogged users the difference of weighted service stays within a bound set by
// the largest request and the slots; weights 1:2 give a token share of 1:2; a user idle for a long time starts level
// with the others instead of catching up on what they had. Service is counted by the simulation, not read from the
// scheduler's counters.
import fc from 'fast-check'
import t from 'tap'
import { holds } from '../helpers/fuzz.js'
import { backend, Harness, type Recorded } from '../helpers/schedulerHarness.js'

interface SimUser {
  name: string
  weight: number
  /** When the user starts sending (ms). */
  arrivesAt: number
  /** Requests the user keeps admitted at once (closed loop). */
  outstanding: number
}

interface Size {
  input: number
  output: number
}

/** Tokens served per user (input at dispatch, output as it streams), as the simulation saw them. */
type Service = Map<string, number>

/**
 * Runs the users' loops until `until` ms; `observe` is called after every event with the service so far. Sizes are
 * taken from `sizes` in turn.
 */
function simulate(
  parallel: number,
  users: SimUser[],
  sizes: Size[],
  until: number,
  observe: (time: number, service: Service) => void,
): Service {
  const h = new Harness({ backends: [backend('a', ['m'], parallel)], maxQueue: 100_000, maxWaitMs: 1e12 })
  const service: Service = new Map(users.map((u) => [u.name, 0]))
  const sizeOf = new Map<Recorded, Size>()
  const remaining = new Map<Recorded, number>()
  let nextSize = 0
  let grantsSeen = 0
  const send = (user: SimUser): void => {
    const size = sizes[nextSize++ % sizes.length]!
    sizeOf.set(h.admit(user.name, 'm', { weight: user.weight, inputTokens: size.input }), size)
  }
  const takeGrants = (): void => {
    for (; grantsSeen < h.grants.length; grantsSeen++) {
      const r = h.grants[grantsSeen]!
      const size = sizeOf.get(r)!
      service.set(r.request.user, service.get(r.request.user)! + size.input)
      remaining.set(r, size.output)
    }
  }
  const pending = [...users].sort((a, b) => a.arrivesAt - b.arrivesAt)
  while (h.clock.time < until) {
    while (pending.length > 0 && pending[0]!.arrivesAt <= h.clock.time) {
      const user = pending.shift()!
      for (let i = 0; i < user.outstanding; i++) send(user)
      takeGrants()
    }
    let step = until - h.clock.time
    for (const left of remaining.values()) step = Math.min(step, left)
    if (pending.length > 0) step = Math.min(step, pending[0]!.arrivesAt - h.clock.time)
    h.clock.advance(step)
    for (const [r, left] of remaining) {
      const tokens = Math.min(step, left)
      r.grant!.chargeOutput(tokens)
      service.set(r.request.user, service.get(r.request.user)! + tokens)
      remaining.set(r, left - tokens)
    }
    for (const [r, left] of [...remaining]) {
      if (left > 0) continue
      remaining.delete(r)
      h.release(r)
      takeGrants()
      send(users.find((u) => u.name === r.request.user)!)
      takeGrants()
    }
    observe(h.clock.time, service)
  }
  return service
}

const size = fc.record({ input: fc.integer({ min: 0, max: 200 }), output: fc.integer({ min: 1, max: 200 }) })
const sizes = fc.array(size, { minLength: 1, maxLength: 40 })

/** How far apart two backlogged users' weighted service may drift: one request's input and P requests' output. */
function driftBound(parallel: number, weights: number[]): number {
  return (200 + parallel * 200) / Math.min(...weights)
}

t.test('two continuously backlogged users: weighted service stays within the VTC bound', async (t) => {
  await holds(
    t,
    'vtc bound',
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(1, 2, 3),
      fc.constantFrom(1, 2, 3),
      sizes,
      (parallel, weightA, weightB, sizes) => {
        const users = [
          { name: 'a', weight: weightA, arrivesAt: 0, outstanding: parallel + 2 },
          { name: 'b', weight: weightB, arrivesAt: 0, outstanding: parallel + 2 },
        ]
        // The counters may start apart by one bound (the first dispatch), so the service difference stays within two.
        const bound = 2 * driftBound(parallel, [weightA, weightB])
        simulate(parallel, users, sizes, 20_000, (time, service) => {
          const drift = Math.abs(service.get('a')! / weightA - service.get('b')! / weightB)
          if (drift > bound) throw new Error(`weighted service ${drift} apart at ${time} ms (bound ${bound})`)
        })
      },
    ),
    40,
  )
})

t.test('weights 1:2 give a token share of 1:2 within 10 % over a long run', async (t) => {
  await holds(
    t,
    'weighted share',
    fc.property(fc.integer({ min: 1, max: 3 }), sizes, (parallel, sizes) => {
      const users = [
        { name: 'one', weight: 1, arrivesAt: 0, outstanding: 8 },
        { name: 'two', weight: 2, arrivesAt: 0, outstanding: 8 },
      ]
      const service = simulate(parallel, users, sizes, 200_000, () => {})
      const ratio = service.get('two')! / service.get('one')!
      if (ratio < 1.8 || ratio > 2.2) throw new Error(`share 1:${ratio}`)
    }),
    10,
  )
})

t.test('an idle user banks no credit: after a long absence it gets its share, not a catch-up', async (t) => {
  await holds(
    t,
    'idle lift',
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      sizes,
      fc.integer({ min: 5_000, max: 50_000 }),
      (parallel, sizes, idle) => {
        const users = [
          { name: 'busy', weight: 1, arrivesAt: 0, outstanding: parallel + 2 },
          { name: 'back', weight: 1, arrivesAt: idle, outstanding: parallel + 2 },
        ]
        const bound = 2 * driftBound(parallel, [1, 1])
        let atArrival: { busy: number; back: number } | undefined
        simulate(parallel, users, sizes, idle + 20_000, (time, service) => {
          if (time < idle) return
          atArrival ??= { busy: service.get('busy')!, back: service.get('back')! }
          const busy = service.get('busy')! - atArrival.busy
          const back = service.get('back')! - atArrival.back
          if (back - busy > bound) throw new Error(`the returning user got ${back - busy} tokens more at ${time} ms`)
          if (busy - back > bound) throw new Error(`the returning user got ${busy - back} tokens less at ${time} ms`)
        })
      },
    ),
    20,
  )
})
