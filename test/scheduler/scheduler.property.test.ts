// The scheduler's guarantees over random runs: 1–3 backends (random parallel, inventories, health), several models and
// users, and random sequences of admit / cancel / chargeOutput / release / clock steps / health changes / reloads.
// After every step: no (backend, model) runs more than `parallel`; no usable free slot idles while a request that may
// use it waits; FIFO within a user and model (across users too under fifo); grants honour exclude and inventory;
// model_not_found exactly when no backend has the model. At the end every request ended exactly once.
import fc from 'fast-check'
import t from 'tap'
import type { SchedulingPolicy } from '../../src/scheduler/schedulerTypes.js'
import { holds } from '../helpers/fuzz.js'
import { fakeView, Harness, type FakeBackend, type Recorded } from '../helpers/schedulerHarness.js'

const models = ['m0', 'm1', 'm2']
const users = ['u0', 'u1', 'u2', 'u3']

type Step =
  | { op: 'admit'; user: number; model: number; input: number; weight: number; exclude: number }
  | { op: 'cancel'; which: number }
  | { op: 'charge'; which: number; tokens: number }
  | { op: 'release'; which: number }
  | { op: 'advance'; ms: number }
  | { op: 'health'; backend: number }
  | { op: 'reload'; keep: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('admit' as const),
      user: fc.nat(users.length - 1),
      // One model in four that no backend may have ('nope').
      model: fc.nat(models.length),
      input: fc.nat(2000),
      weight: fc.constantFrom(1, 2, 3, 0.5),
      exclude: fc.nat(7),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('charge' as const), which: fc.nat(), tokens: fc.nat(500) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('release' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(4000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('health' as const), backend: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reload' as const), keep: fc.integer({ min: 1, max: 7 }) }) },
)

const backendSpec = fc.record({
  parallel: fc.integer({ min: 1, max: 3 }),
  installed: fc.option(fc.subarray(models), { nil: null, freq: 4 }),
  loaded: fc.subarray(models),
})

const scenario = fc.record({
  policy: fc.constantFrom<SchedulingPolicy>('fair', 'fifo'),
  maxQueue: fc.oneof(fc.constantFrom(0, 512), fc.integer({ min: 1, max: 12 })),
  backends: fc.array(backendSpec, { minLength: 1, maxLength: 3 }),
  steps: fc.array(step, { minLength: 10, maxLength: 150, size: 'max' }),
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

const maxWaitMs = 10_000

function pick<T>(list: T[], which: number): T | undefined {
  return list.length === 0 ? undefined : list[which % list.length]
}

function subset<T>(list: T[], bits: number): T[] {
  return list.filter((_, i) => (bits >> i) & 1)
}

function hasModel(backends: FakeBackend[], model: string): boolean {
  return backends.some((b) => fakeView.installed(b, model))
}

/** Runs one scenario, checking the invariants after each step; returns the harness for the end checks. */
function run(spec: Scenario): Harness {
  const all: FakeBackend[] = spec.backends.map((b, i) => ({
    name: `b${i}`,
    parallel: b.parallel,
    usable: true,
    installed: b.installed && new Set(b.installed),
    loaded: new Set(b.loaded),
  }))
  const h = new Harness({ backends: all, policy: spec.policy, maxQueue: spec.maxQueue, maxWaitMs })
  let current = all
  for (const s of spec.steps) {
    const grantsBefore = h.grants.length
    const requestsBefore = h.requests.length
    const refusedBefore = new Set(h.requests.filter((r) => r.error !== undefined))
    act(h, s, all, current, (list) => (current = list))
    checkAdmission(h, requestsBefore, refusedBefore, current)
    checkNewGrants(h, grantsBefore, current)
    const counts = runningCounts(h)
    checkSlots(h, counts)
    checkWorkConserving(h, counts, current)
    checkFifo(h, spec.policy)
  }
  return h
}

function act(h: Harness, s: Step, all: FakeBackend[], current: FakeBackend[], reload: (l: FakeBackend[]) => void) {
  switch (s.op) {
    case 'admit': {
      const model = models[s.model] ?? 'nope'
      const exclude = subset(all, s.exclude)
      h.admit(users[s.user]!, model, { weight: s.weight, inputTokens: s.input, exclude })
      return
    }
    case 'cancel':
      // Mostly waiting ones, sometimes any (cancelling a granted or refused one must do nothing).
      {
        const target = s.which % 3 === 0 ? pick(h.requests, s.which) : pick(h.waiting(), s.which)
        if (target) h.cancel(target)
      }
      return
    case 'charge':
      pick(h.grants, s.which)?.grant!.chargeOutput(s.tokens)
      return
    case 'release': {
      // Mostly running ones, sometimes one already released (must do nothing).
      const target = s.which % 5 === 0 ? pick(h.grants, s.which) : pick(h.running(), s.which)
      if (target) h.release(target)
      return
    }
    case 'advance':
      h.clock.advance(s.ms)
      return
    case 'health': {
      const b = all[s.backend % all.length]!
      b.usable = !b.usable
      h.scheduler.wake()
      return
    }
    case 'reload': {
      const list = subset(all, s.keep)
      const next = list.length > 0 ? list : current
      reload(next)
      h.scheduler.setBackends(next)
    }
  }
}

function checkAdmission(h: Harness, requestsBefore: number, refusedBefore: Set<Recorded>, current: FakeBackend[]) {
  for (const r of h.requests.slice(requestsBefore)) {
    const known = hasModel(current, r.request.model)
    if (r.error?.code === 'model_not_found' && known) throw new Error(`model_not_found for ${r.request.model}`)
    if (!known && r.error?.code !== 'model_not_found') throw new Error(`${r.request.model} not refused`)
  }
  for (const r of h.requests.slice(0, requestsBefore))
    if (r.error?.code === 'model_not_found' && !refusedBefore.has(r) && hasModel(current, r.request.model))
      throw new Error('a waiting request was refused model_not_found while a backend has its model')
}

function checkNewGrants(h: Harness, grantsBefore: number, current: FakeBackend[]): void {
  for (const r of h.grants.slice(grantsBefore)) {
    const b = r.grant!.backend
    if (r.request.exclude?.includes(b)) throw new Error('granted an excluded backend')
    if (!current.includes(b) || !b.usable || !fakeView.installed(b, r.request.model))
      throw new Error(`granted ${b.name}, which cannot serve ${r.request.model} now`)
  }
}

/** Running requests per backend and model. */
function runningCounts(h: Harness): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of h.running()) {
    const key = `${r.grant!.backend.name} ${r.request.model}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

function checkSlots(h: Harness, counts: Map<string, number>): void {
  for (const r of h.running()) {
    const b = r.grant!.backend
    if (counts.get(`${b.name} ${r.request.model}`)! > b.parallel)
      throw new Error(`${b.name} runs more than ${b.parallel}`)
  }
}

function checkWorkConserving(h: Harness, counts: Map<string, number>, current: FakeBackend[]): void {
  for (const r of h.waiting()) {
    for (const b of current) {
      if (r.request.exclude?.includes(b) || !b.usable || !fakeView.installed(b, r.request.model)) continue
      if ((counts.get(`${b.name} ${r.request.model}`) ?? 0) < b.parallel)
        throw new Error(`${b.name} has a free slot for ${r.request.model} while request ${r.id} waits`)
    }
  }
}

/** Later requests (no exclusions) of the same user and model — of any user under fifo — never overtake earlier ones. */
function checkFifo(h: Harness, policy: SchedulingPolicy): void {
  const groups = new Map<string, { waitingSeen: boolean; latestGrant: number }>()
  for (const r of h.requests) {
    if (r.request.exclude?.length) continue
    const key = policy === 'fair' ? `${r.request.user} ${r.request.model}` : r.request.model
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = { waitingSeen: false, latestGrant: -1 }))
    if (r.outcome === 'waiting') group.waitingSeen = true
    if (r.grant === undefined) continue
    if (group.waitingSeen) throw new Error(`request ${r.id} granted while an earlier one still waits`)
    if (r.grantedAs < group.latestGrant) throw new Error(`request ${r.id} granted after a later one`)
    group.latestGrant = r.grantedAs
  }
}

/** Frees everything and lets every deadline pass: each request must have ended exactly once (cancelled: never told). */
function checkEnds(h: Harness, current: FakeBackend[]): void {
  for (const b of current) b.usable = true
  h.scheduler.wake()
  for (let rounds = 0; rounds < 1000 && h.running().length > 0; rounds++) h.release(h.running()[0]!)
  h.clock.advance(maxWaitMs)
  for (const r of h.requests) {
    const expected = r.cancelled ? 0 : 1
    if (r.ends !== expected || r.outcome === 'waiting') throw new Error(`request ${r.id} ended ${r.ends} times`)
  }
  if (h.scheduler.depth() !== 0) throw new Error('requests left waiting')
}

t.test('scheduler invariants over random runs', async (t) => {
  const seen = { queued: 0, grantedAfterWaiting: 0, timedOut: 0, full: 0, cancelled: 0 }
  await holds(
    t,
    'scheduler invariants',
    fc.property(scenario, (spec) => {
      const h = run(spec)
      seen.queued += h.requests.filter((r) => r.queued).length
      seen.grantedAfterWaiting += h.requests.filter((r) => r.queued && r.grant !== undefined).length
      seen.timedOut += h.requests.filter((r) => r.error?.code === 'queue_timeout').length
      seen.full += h.requests.filter((r) => r.error?.code === 'queue_full').length
      seen.cancelled += h.requests.filter((r) => r.cancelled).length
      checkEnds(h, h.backends)
    }),
    300,
  )
  // The runs must reach what they are meant to test: waiting, and every way a wait ends.
  t.comment(JSON.stringify(seen))
  for (const [what, count] of Object.entries(seen)) t.ok(count > 0, what)
})

t.test('grants and refusals are exactly those the waiters heard', async (t) => {
  await holds(
    t,
    'scheduler outcomes',
    fc.property(scenario, (spec) => {
      const h = run(spec)
      const told = h.requests.filter((r: Recorded) => r.ends > 0).length
      const ended = h.requests.filter((r) => r.outcome === 'granted' || r.outcome === 'refused').length
      return told === ended && h.grants.length === h.requests.filter((r) => r.grant !== undefined).length
    }),
    100,
  )
})
