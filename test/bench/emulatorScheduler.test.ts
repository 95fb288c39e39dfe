// The emulator's Ollama scheduler on its own, with a fake clock: slots, the FIFO queue and its bound, loads and their
// time, eviction of the least recently used idle model, keep_alive (0, a duration, forever), and leaving the queue.
import t from 'tap'
import { OllamaScheduler, type SchedulerLimits, type Ticket } from '../../bench/emulator/scheduler.js'
import { fakeClock } from '../helpers/fakeSchedulerClock.js'

function setup(limits: Partial<SchedulerLimits>) {
  const clock = fakeClock()
  const scheduler = new OllamaScheduler(limits, clock)
  const started: string[] = []
  const enter = (model: string, label: string, keepAliveMs?: number): Ticket | undefined =>
    scheduler.enter(model, keepAliveMs, () => started.push(label))
  const loadedNames = () => scheduler.loaded().map((entry) => entry.model)
  return { clock, scheduler, started, enter, loadedNames }
}

t.test('defaults: nothing waits, nothing is refused', async (t) => {
  const { scheduler, started, enter } = setup({})
  for (let i = 0; i < 600; i++) enter('a', `a${i}`)
  t.equal(started.length, 600, 'every request started at once')
  t.match(scheduler.countsOf('a'), { running: 600, peakRunning: 600, queued: 0, served: 600, loads: 1 })
})

t.test('parallel slots per model; the rest wait first come, first served', async (t) => {
  const { scheduler, started, enter } = setup({ parallel: 2 })
  const tickets = ['a1', 'a2', 'a3', 'b1', 'a4'].map((label) => enter(label[0]!, label)!)
  t.same(started, ['a1', 'a2', 'b1'], 'two slots for a, b has its own')
  t.match(scheduler.countsOf('a'), { running: 2, queued: 2 })
  scheduler.leave(tickets[1]!)
  t.same(started, ['a1', 'a2', 'b1', 'a3'], 'the oldest waiting request takes the freed slot')
  scheduler.leave(tickets[1]!)
  t.equal(scheduler.countsOf('a').running, 2, 'leaving twice frees one slot')
  scheduler.leave(tickets[0]!)
  t.same(started.at(-1), 'a4')
  t.match(scheduler.countsOf('a'), { running: 2, peakRunning: 2, queued: 0, peakQueued: 2, served: 4 })
})

t.test('max-queue: one more waiting request is refused; a place given back makes room', async (t) => {
  const { scheduler, enter } = setup({ parallel: 1, maxQueue: 2 })
  enter('a', 'running')
  const waiting = enter('a', 'w1')!
  enter('b', 'b-runs')
  enter('a', 'w2')
  t.equal(enter('a', 'refused'), undefined, 'the queue holds two')
  t.equal(scheduler.countsOf('a').rejected, 1)
  scheduler.leave(waiting)
  t.equal(waiting.state, 'done')
  t.ok(enter('a', 'w3'), 'a place left by an aborted request is free again')
  t.equal(scheduler.countsOf('a').queued, 2)
})

t.test('a load takes load-ms; requests for the model wait for it, in order', async (t) => {
  const { clock, scheduler, started, enter, loadedNames } = setup({ parallel: 1, loadMs: 500 })
  enter('a', 'a1')
  enter('a', 'a2')
  t.same(started, [], 'nothing runs while the model loads')
  t.match(scheduler.loaded(), [{ model: 'a', loading: true }])
  clock.advance(499)
  t.same(started, [])
  clock.advance(1)
  t.same(started, ['a1'])
  t.same(loadedNames(), ['a'])
  t.equal(scheduler.countsOf('a').loads, 1)
})

t.test('max-loaded: the least recently used idle model is evicted; a busy one never is', async (t) => {
  const { scheduler, started, enter, loadedNames } = setup({ maxLoaded: 2 })
  scheduler.leave(enter('a', 'a1')!)
  scheduler.leave(enter('b', 'b1')!)
  scheduler.leave(enter('a', 'a2')!)
  enter('c', 'c1')
  t.same(loadedNames().sort(), ['a', 'c'], 'b was used longest ago')
  t.equal(scheduler.countsOf('b').evictions, 1)
  const busyA = enter('a', 'a3')!
  // a and c are both busy now: d waits, and everything queued behind it waits too (Ollama's one pending loop).
  enter('d', 'd1')
  enter('c', 'c2')
  t.same(started, ['a1', 'b1', 'a2', 'c1', 'a3'])
  t.match(scheduler.countsOf('d'), { queued: 1, loads: 0 })
  scheduler.leave(busyA)
  t.same(started.slice(-2), ['d1', 'c2'], 'a went idle, was evicted for d; c2 followed')
  t.equal(scheduler.countsOf('a').evictions, 1)
})

t.test('the idle model with the shortest keep_alive is evicted first, as Ollama picks', async (t) => {
  const { scheduler, enter, loadedNames } = setup({ maxLoaded: 2 })
  scheduler.leave(enter('short', 's', 60_000)!)
  scheduler.leave(enter('forever', 'f', Infinity)!)
  scheduler.leave(enter('short', 's2', 60_000)!)
  enter('new', 'n')
  t.same(loadedNames().sort(), ['forever', 'new'])
})

t.test('keep_alive: 0 unloads when the last request ends; a duration lapses; forever stays', async (t) => {
  const { clock, scheduler, enter, loadedNames } = setup({ parallel: 1 })
  const first = enter('a', 'a1', 0)!
  const queued = enter('a', 'a2')!
  scheduler.leave(first)
  t.same(loadedNames(), ['a'], 'a request still waiting for the model keeps it loaded')
  scheduler.leave(queued)
  t.same(loadedNames(), [], 'unloaded as soon as it went idle')
  t.equal(scheduler.countsOf('a').unloads, 1)
  scheduler.leave(enter('b', 'b', 10_000)!)
  scheduler.leave(enter('c', 'c', Infinity)!)
  scheduler.leave(enter('d', 'd')!)
  t.same(
    scheduler.loaded().map((entry) => entry.expiresAt - clock.now()),
    [Infinity, 300_000, 10_000],
    'longest time left first; the default is 5 minutes',
  )
  clock.advance(10_000)
  t.same(loadedNames(), ['c', 'd'])
  clock.advance(290_000)
  t.same(loadedNames(), ['c'])
})

t.test('expire: unloads an idle model now, a busy one when its requests end', async (t) => {
  const { scheduler, enter, loadedNames } = setup({})
  scheduler.expire('nothing-loaded')
  scheduler.leave(enter('a', 'a')!)
  scheduler.expire('a')
  t.same(loadedNames(), [])
  const busy = enter('b', 'b')!
  scheduler.expire('b')
  t.same(loadedNames(), ['b'])
  scheduler.leave(busy)
  t.same(loadedNames(), [])
})

t.test('preload: loaded at start, within max-loaded', async (t) => {
  const { scheduler, loadedNames } = setup({ maxLoaded: 1, loadMs: 1000 })
  scheduler.preload('a')
  scheduler.preload('b')
  t.same(loadedNames(), ['a'], 'ready at once, and only as many as fit')
  t.equal(scheduler.limited, true)
  t.equal(new OllamaScheduler().limited, false)
})

t.test('crash: memory and queue are empty; requests still running end without harm', async (t) => {
  const { scheduler, started, enter, loadedNames } = setup({ parallel: 1 })
  const running = enter('a', 'a1')!
  const waiting = enter('a', 'never')!
  scheduler.crash()
  t.same(loadedNames(), [])
  t.equal(waiting.state, 'done', 'the queue is gone too')
  enter('a', 'a2')
  t.same(started, ['a1', 'a2'], 'a new runner for the model, with its own slot')
  scheduler.leave(running)
  t.match(scheduler.countsOf('a'), { running: 1, queued: 0, loads: 2, unloads: 1 })
  t.same(loadedNames(), ['a'], "the old runner's last request does not touch the new one")
})

t.test('requests that end as soon as they start (stream:false) drain a long queue in order', async (t) => {
  const { scheduler, started } = setup({ parallel: 1, maxQueue: 5000 })
  const first = scheduler.enter('a', undefined, () => started.push('first'))!
  const tickets = new Map<string, Ticket>()
  for (let i = 0; i < 3000; i++) {
    const label = `q${i}`
    const ticket = scheduler.enter('a', undefined, () => {
      started.push(label)
      scheduler.leave(tickets.get(label)!)
    })!
    tickets.set(label, ticket)
  }
  scheduler.leave(first)
  t.equal(started.length, 3001, 'all ran, without a deep stack')
  t.same(started.slice(0, 4), ['first', 'q0', 'q1', 'q2'])
  t.ok(
    started.every((label, index) => index < 2 || Number(label.slice(1)) > Number(started[index - 1]!.slice(1))),
    'in arrival order',
  )
  t.match(scheduler.countsOf('a'), { running: 0, queued: 0, served: 3001, peakRunning: 1 })
})
