// The priority invariant of low-priority work (Scheduler.admitIdle, what batch lines ask through): over random runs of
// interactive admits, low-priority asks, releases, cancels and clock steps on 1–3 backends, an interactive request
// never waits while low-priority work is dispatched for the same model instead of it; low-priority work never waits in
// the interactive queue (granted at once or not at all); it leaves free as many slots as interactive requests of the
// model ran at once within the reserve window (beyond those running now); without a reserve it takes any idle slot;
// and no backend runs more than `parallel` of a model, both kinds counted.
import fc from 'fast-check'
import t from 'tap'
import { pickBackend } from '../../src/scheduler/backendPicker.js'
import { holds } from '../helpers/fuzz.js'
import { fakeView, Harness, Recorded, type FakeBackend } from '../helpers/schedulerHarness.js'

const models = ['m0', 'm1']
const users = ['u0', 'u1', 'batch']

type Step =
  | { op: 'admit'; user: number; model: number }
  | { op: 'idle'; model: number }
  | { op: 'release'; which: number }
  | { op: 'cancel'; which: number }
  | { op: 'advance'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('admit' as const), user: fc.nat(1), model: fc.nat(1) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('idle' as const), model: fc.nat(1) }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('release' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(2500) }) },
)

const scenario = fc.record({
  backends: fc.array(fc.record({ parallel: fc.integer({ min: 1, max: 3 }), installed: fc.subarray(models) }), {
    minLength: 1,
    maxLength: 3,
  }),
  steps: fc.array(step, { minLength: 10, maxLength: 120 }),
  // The reserve window is configuration: one per run (0: no reserve).
  reserve: fc.constantFrom(0, 1000),
})

function pick<T>(list: T[], which: number): T | undefined {
  return list.length === 0 ? undefined : list[which % list.length]
}

/** Slots each backend runs per model now (interactive and low-priority grants alike). */
function runningOn(h: Harness, backend: FakeBackend, model: string): number {
  return h.running().filter((r) => r.grant!.backend === backend && r.request.model === model).length
}

function run(spec: typeof scenario extends fc.Arbitrary<infer T> ? T : never): string | undefined {
  const backends: (FakeBackend & { installed: Set<string> })[] = spec.backends.map((b, i) => ({
    name: `b${i}`,
    parallel: b.parallel,
    usable: true,
    installed: new Set(b.installed),
    loaded: new Set<string>(),
  }))
  const h = new Harness({ backends, maxWaitMs: 60_000 })
  const lowPriority = new Set<Recorded>()
  /** Interactive requests running per model after each step that started one: their concurrency over time. */
  const samples: { time: number; model: string; running: number }[] = []
  const interactiveRunning = (model: string) =>
    h.running().filter((r) => !lowPriority.has(r) && r.request.model === model).length
  const peakSince = (model: string, since: number) =>
    Math.max(0, ...samples.filter((x) => x.model === model && x.time > since).map((x) => x.running))
  for (const s of spec.steps) {
    const grantsBefore = h.grants.length
    if (s.op === 'admit') {
      h.admit(users[s.user]!, models[s.model]!)
    } else if (s.op === 'idle') {
      const model = models[s.model]!
      const reserve = spec.reserve
      const waitingBefore = h.waiting().filter((r) => r.request.model === model && !lowPriority.has(r)).length
      const freeBefore = new Map<FakeBackend, number>(backends.map((b) => [b, b.parallel - runningOn(h, b, model)]))
      const totalFree = backends.filter((b) => b.installed.has(model)).reduce((sum, b) => sum + freeBefore.get(b)!, 0)
      const recorded = new Recorded(h.requests.length, { user: 'batch', model, weight: 1, inputTokens: 0 }, h.grants)
      const ticket = h.scheduler.admitIdle(recorded.request, recorded, reserve)
      if (ticket === undefined) {
        if (recorded.ends !== 0) return 'a refused low-priority ask was told something'
        // Nothing idle: without a reserve, then no backend had a slot it could give (or interactive requests wait).
        if (reserve === 0 && waitingBefore === 0 && totalFree > 0) return `an idle slot for ${model} was refused`
        continue
      }
      recorded.ticket = ticket
      h.requests.push(recorded)
      lowPriority.add(recorded)
      if (recorded.grant === undefined) return 'a low-priority ticket without a grant: it would wait in line'
      if (waitingBefore > 0)
        return `low-priority work was dispatched while ${waitingBefore} interactive wait(s) for ${model}`
      const wanted = peakSince(model, h.clock.time - reserve) - interactiveRunning(model)
      if (reserve > 0 && totalFree - 1 < wanted) {
        return `low-priority work took a slot of the ${wanted} kept for interactive requests (${totalFree} free)`
      }
    } else if (s.op === 'release') {
      const target = pick(h.running(), s.which)
      if (target) h.release(target)
    } else if (s.op === 'cancel') {
      const target = pick(h.waiting(), s.which)
      if (target) h.cancel(target)
    } else {
      h.clock.advance(s.ms)
    }
    for (const started of h.grants.slice(grantsBefore)) {
      if (lowPriority.has(started)) continue
      const model = started.request.model
      samples.push({ time: h.clock.time, model, running: interactiveRunning(model) })
    }
    for (const b of backends) {
      for (const model of models) if (runningOn(h, b, model) > b.parallel) return `${b.name} runs too many of ${model}`
    }
    // Interactive requests waiting: only when no slot they may use is free (low-priority work took none of theirs).
    for (const waiting of h.waiting()) {
      const running = new Map(backends.map((b) => [b, runningOn(h, b, waiting.request.model)]))
      if (pickBackend(backends, fakeView, waiting.request.model, running, undefined, h.clock.time) !== undefined) {
        return `an interactive request for ${waiting.request.model} waits beside a free slot`
      }
    }
  }
  return undefined
}

t.test('interactive requests always go first; low-priority work uses idle slots only', async (t) => {
  await holds(
    t,
    'scheduler idle-slot priority',
    fc.property(scenario, (spec) => {
      const broken = run(spec)
      if (broken !== undefined) throw new Error(broken)
      return true
    }),
    400,
  )
})

t.test('a release nobody waited for tells the low-priority side a slot is idle', async (t) => {
  const backends = [{ name: 'b0', parallel: 1, usable: true, installed: new Set(['m0']), loaded: new Set<string>() }]
  const h = new Harness({ backends })
  let told = 0
  h.scheduler.onIdleSlot = () => told++
  const first = h.admit('u0', 'm0')
  const second = h.admit('u1', 'm0')
  h.release(first)
  t.equal(told, 0, 'the slot went to the interactive request waiting')
  h.release(second)
  t.equal(told, 1, 'then it was idle')
})
