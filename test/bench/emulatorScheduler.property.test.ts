// The emulator's Ollama scheduler under generated arrivals, ends, aborts, unload requests, crashes and clock steps, with
// generated limits: no model ever runs more than `parallel` at once, no more than `maxQueue` wait, no more than
// `maxLoaded` models are in memory, each model's requests start in arrival order, its counters match what happened,
// and no request is lost — once the running ones end, everything admitted and not aborted gets its turn.
import fc from 'fast-check'
import t from 'tap'
import { OllamaScheduler, type Ticket } from '../../bench/emulator/scheduler.js'
import { fakeClock } from '../helpers/fakeSchedulerClock.js'
import { holds } from '../helpers/fuzz.js'

const models = ['a', 'b', 'c'] as const

type Step =
  | { op: 'arrive'; model: (typeof models)[number]; keepAliveMs: number | undefined }
  | { op: 'finish' | 'abort'; pick: number }
  | { op: 'tick'; ms: number }
  | { op: 'expire'; model: (typeof models)[number] }
  | { op: 'crash' }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('arrive' as const),
      model: fc.constantFrom(...models),
      keepAliveMs: fc.constantFrom(undefined, 0, 1000, Infinity),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), model: fc.constantFrom(...models) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('crash' as const) }) },
)

const limits = fc.record({
  parallel: fc.integer({ min: 1, max: 3 }),
  maxQueue: fc.integer({ min: 0, max: 6 }),
  maxLoaded: fc.integer({ min: 1, max: 3 }),
  loadMs: fc.constantFrom(0, 100, 1000),
})

t.test('slots, queue bound, memory bound, FIFO per model, and no request lost', async (t) => {
  await holds(
    t,
    'emulator scheduler invariants',
    fc.property(limits, fc.array(step, { maxLength: 60 }), (limit, steps) => {
      const clock = fakeClock()
      const scheduler = new OllamaScheduler(limit, clock)
      const tickets: Ticket[] = []
      const startedIds = new Map<string, number[]>(models.map((model) => [model, []]))
      const startedOnce = new Set<number>()
      const aborted = new Set<number>()

      const check = (): void => {
        const inState = (state: Ticket['state']) => tickets.filter((ticket) => ticket.state === state)
        if (inState('queued').length > limit.maxQueue) throw new Error('more waiting than max-queue')
        if (scheduler.loaded().length > limit.maxLoaded) throw new Error('more models loaded than max-loaded')
        for (const model of models) {
          const counts = scheduler.countsOf(model)
          const running = inState('running').filter((ticket) => ticket.model === model).length
          if (counts.running !== running || running > limit.parallel) throw new Error(`${model}: running ${running}`)
          const queued = inState('queued').filter((ticket) => ticket.model === model).length
          if (counts.queued !== queued) throw new Error(`${model}: queued count ${counts.queued} vs ${queued}`)
          const ids = startedIds.get(model)!
          if (counts.served !== ids.length) throw new Error(`${model}: served ${counts.served} vs ${ids.length}`)
          if (ids.some((id, index) => index > 0 && id < ids[index - 1]!)) throw new Error(`${model}: not FIFO`)
        }
        for (const ticket of tickets) {
          const started = startedOnce.has(ticket.id)
          const consistent =
            ticket.state === 'queued'
              ? !started
              : ticket.state === 'running'
                ? started
                : started || aborted.has(ticket.id)
          if (!consistent) throw new Error(`ticket ${ticket.id} is ${ticket.state}, started: ${started}`)
        }
      }
      const arrive = (model: string, keepAliveMs: number | undefined): void => {
        let id = 0
        const ticket = scheduler.enter(model, keepAliveMs, () => {
          if (startedOnce.has(id)) throw new Error('started twice')
          startedOnce.add(id)
          startedIds.get(model)!.push(id)
        })
        if (ticket) {
          // The ticket's id is known only once enter returns; a start inside enter recorded 0 for it.
          id = ticket.id
          if (startedOnce.delete(0)) {
            startedOnce.add(id)
            startedIds.get(model)!.splice(-1, 1, id)
          }
          tickets.push(ticket)
        }
      }
      const pick = (state: Ticket['state'], index: number): Ticket | undefined => {
        const candidates = tickets.filter((ticket) => ticket.state === state)
        return candidates.length === 0 ? undefined : candidates[index % candidates.length]
      }

      for (const next of steps) {
        if (next.op === 'arrive') arrive(next.model, next.keepAliveMs)
        else if (next.op === 'tick') clock.advance(next.ms)
        else if (next.op === 'expire') scheduler.expire(next.model)
        else if (next.op === 'crash') {
          // The emulator's stop(): memory and queue are gone, then every connection drops (a queued one never runs).
          for (const ticket of tickets) if (ticket.state === 'queued') aborted.add(ticket.id)
          scheduler.crash()
          for (const ticket of tickets) scheduler.leave(ticket)
        } else {
          const ticket = pick(next.op === 'finish' ? 'running' : 'queued', next.pick)
          if (ticket && next.op === 'abort') aborted.add(ticket.id)
          if (ticket) scheduler.leave(ticket)
        }
        check()
      }
      // Drain: end whatever runs and let loads finish, until nothing waits.
      for (let round = 0; round < 1000 && tickets.some((ticket) => ticket.state !== 'done'); round++) {
        for (const ticket of tickets) if (ticket.state === 'running') scheduler.leave(ticket)
        clock.advance(1000)
        check()
      }
      const stuck = tickets.filter((ticket) => ticket.state !== 'done')
      if (stuck.length > 0) throw new Error(`${stuck.length} requests never got a slot`)
      for (const ticket of tickets) {
        if (!aborted.has(ticket.id) && !startedOnce.has(ticket.id)) throw new Error(`ticket ${ticket.id} never ran`)
        if (aborted.has(ticket.id) && startedOnce.has(ticket.id)) throw new Error(`aborted ${ticket.id} ran`)
      }
    }),
    2000,
  )
})
