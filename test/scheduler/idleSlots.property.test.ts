// The priority invariant of low-priority work (Scheduler.admitIdle, what batch lines ask through): over random runs of
// interactive admits, low-priority asks, releases, cancels and clock steps on 1–3 backends, an interactive request
// never waits while low-priority work is dispatched for the same model instead of it; low-priority work never waits in
// the interactive queue (granted at once or not at all); with interactive traffic within the reserve window it never
// takes a backend's last free slot; and no backend runs more than `parallel` of a model, both kinds counted.
import fc from 'fast-check'
import t from 'tap'
import { pickBackend } from '../../src/scheduler/backendPicker.js'
import { holds } from '../helpers/fuzz.js'
import { fakeView, Harness, Recorded, type FakeBackend } from '../helpers/schedulerHarness.js'

const models = ['m0', 'm1']
const users = ['u0', 'u1', 'batch']
const reserveMs = 1000

type Step =
  | { op: 'admit'; user: number; model: number }
  | { op: 'idle'; model: number; reserve: boolean }
  | { op: 'release'; which: number }
  | { op: 'cancel'; which: number }
  | { op: 'advance'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('admit' as const), user: fc.nat(1), model: fc.nat(1) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('idle' as const), model: fc.nat(1), reserve: fc.boolean() }),
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
  const lastInteractive = new Map<string, number>()
  const lowPriority = new Set<Recorded>()
  for (const s of spec.steps) {
    if (s.op === 'admit') {
      const model = models[s.model]!
      lastInteractive.set(model, h.clock.time)
      h.admit(users[s.user]!, model)
    } else if (s.op === 'idle') {
      const model = models[s.model]!
      const reserve = s.reserve ? reserveMs : 0
      const waitingBefore = h.waiting().filter((r) => r.request.model === model && !lowPriority.has(r)).length
      const freeBefore = new Map<FakeBackend, number>(backends.map((b) => [b, b.parallel - runningOn(h, b, model)]))
      const recorded = new Recorded(h.requests.length, { user: 'batch', model, weight: 1, inputTokens: 0 }, h.grants)
      const ticket = h.scheduler.admitIdle(recorded.request, recorded, reserve)
      if (ticket === undefined) {
        if (recorded.ends !== 0) return 'a refused low-priority ask was told something'
        // Nothing idle: then no backend really had a slot it could give (waiting interactive, or the reserve).
        const recent = h.clock.time - (lastInteractive.get(model) ?? -Infinity) < reserve
        const need = recent ? 2 : 1
        const couldGo = backends.some((b) => b.installed.has(model) && freeBefore.get(b)! >= need)
        if (waitingBefore === 0 && couldGo) return `an idle slot for ${model} was refused to low-priority work`
        continue
      }
      recorded.ticket = ticket
      h.requests.push(recorded)
      lowPriority.add(recorded)
      if (recorded.grant === undefined) return 'a low-priority ticket without a grant: it would wait in line'
      if (waitingBefore > 0)
        return `low-priority work was dispatched while ${waitingBefore} interactive wait(s) for ${model}`
      const recent = h.clock.time - (lastInteractive.get(model) ?? -Infinity) < reserve
      if (recent && freeBefore.get(recorded.grant.backend)! < 2)
        return 'the reserved last slot went to low-priority work'
    } else if (s.op === 'release') {
      const target = pick(h.running(), s.which)
      if (target) h.release(target)
    } else if (s.op === 'cancel') {
      const target = pick(h.waiting(), s.which)
      if (target) h.cancel(target)
    } else {
      h.clock.advance(s.ms)
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
