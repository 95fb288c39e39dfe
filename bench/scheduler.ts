// `npm run build --silent && node dist/bench/scheduler.js`: what the scheduler's decision costs per request, in-process
// (goal: ≤ 2 µs, and next to nothing when no backend is saturated).
// - free slot: admit (granted at once, nobody waits) then release, on two backends with different models loaded;
// - saturated, N users waiting: every user keeps requests queued behind one busy slot; per request: the running one
//   is charged its output and released, the lowest counter is dispatched, and its user queues another.
import { Scheduler } from '../src/scheduler/scheduler.js'
import type { BackendView, Grant, Waiter } from '../src/scheduler/schedulerTypes.js'
import type { GatewayError } from '../src/errors.js'

interface Backend {
  parallel: number
  loaded: Set<string>
}

const view: BackendView<Backend> = {
  parallel: (b) => b.parallel,
  usable: () => true,
  loaded: (b, model) => b.loaded.has(model),
  installed: () => true,
  loadedCount: (b) => b.loaded.size,
}

/** One waiter for every request: it keeps the last grant (admitting allocates no closure). */
class LastGrant implements Waiter<Backend> {
  grant: Grant<Backend> | undefined
  onReady(grant: Grant<Backend>): void {
    this.grant = grant
  }
  onRefused(error: GatewayError): void {
    throw error
  }
}

function scheduler(backends: Backend[]): Scheduler<Backend> {
  return new Scheduler<Backend>({
    policy: 'fair',
    maxQueue: 1_000_000,
    maxWaitMs: 300_000,
    view,
    backends,
    now: () => performance.now(),
  })
}

function measure(name: string, n: number, run: () => void): void {
  for (let i = 0; i < n / 10; i++) run()
  // CPU time, not wall time: the machines this runs on are shared, and waiting for a core is not the scheduler's cost.
  const started = process.cpuUsage()
  for (let i = 0; i < n; i++) run()
  const used = process.cpuUsage(started)
  console.log(`${name}: ${((used.user + used.system) / n).toFixed(3)} µs CPU per request (${n} requests)`)
}

function freeSlot(): () => void {
  const s = scheduler([
    { parallel: 4, loaded: new Set(['llama3.2:3b']) },
    { parallel: 4, loaded: new Set(['qwen3:8b']) },
  ])
  const waiter = new LastGrant()
  const request = { user: 'alice', weight: 1, model: 'qwen3:8b', inputTokens: 600 }
  return () => {
    s.admit(request, waiter)
    waiter.grant!.chargeOutput(420)
    waiter.grant!.release()
  }
}

/** A user's closed loop: its request, and the grant its latest one got. */
class UserLoop implements Waiter<Backend> {
  grant: Grant<Backend> | undefined
  constructor(
    readonly request: { user: string; weight: number; model: string; inputTokens: number },
    private readonly dispatched: UserLoop[],
  ) {}
  onReady(grant: Grant<Backend>): void {
    this.grant = grant
    this.dispatched.push(this)
  }
  onRefused(error: GatewayError): void {
    throw error
  }
}

function saturated(users: number): () => void {
  const s = scheduler([{ parallel: 1, loaded: new Set(['llama3.2:3b']) }])
  const dispatched: UserLoop[] = []
  const loops = Array.from(
    { length: users },
    (_, i) =>
      new UserLoop(
        { user: `user${i}`, weight: 1 + (i % 3), model: 'llama3.2:3b', inputTokens: 100 + ((i * 37) % 500) },
        dispatched,
      ),
  )
  for (const loop of loops) for (let i = 0; i < 3; i++) s.admit(loop.request, loop)
  let output = 0
  return () => {
    const running = dispatched.pop()!
    running.grant!.chargeOutput(100 + (output++ % 400))
    running.grant!.release()
    // The release dispatched the lowest counter; that user sends another request, so every user stays backlogged.
    const next = dispatched[dispatched.length - 1]!
    s.admit(next.request, next)
  }
}

for (let round = 0; round < 3; round++) {
  measure('free slot, nobody waiting (admit + charge + release)', 1_000_000, freeSlot())
  for (const users of [2, 100, 1000]) measure(`saturated, ${users} users waiting`, 300_000, saturated(users))
}
