// The scheduler's test bench: backends as plain objects behind a view, a fake clock whose timers fire when the test
// moves time, and a waiter that records how each request ended.
import type { GatewayError } from '../../src/errors.js'
import { Scheduler } from '../../src/scheduler/scheduler.js'
import type {
  BackendView,
  Grant,
  JobRequest,
  SchedulerSettings,
  SchedulerTimers,
  Ticket,
  Waiter,
} from '../../src/scheduler/schedulerTypes.js'

export interface FakeBackend {
  name: string
  parallel: number
  usable: boolean
  /** null: inventory not known yet (counts as having every model). */
  installed: Set<string> | null
  loaded: Set<string>
  /** An admin drained it (BackendView.draining). */
  draining?: boolean
}

export function backend(name: string, models: string[] | null, parallel = 1, loaded: string[] = []): FakeBackend {
  return { name, parallel, usable: true, installed: models && new Set(models), loaded: new Set(loaded) }
}

export const fakeView: BackendView<FakeBackend> = {
  parallel: (b) => b.parallel,
  usable: (b) => b.usable,
  loaded: (b, model) => b.loaded.has(model),
  installed: (b, model) => b.installed === null || b.installed.has(model),
  loadedCount: (b) => b.loaded.size,
  draining: (b) => b.draining === true,
}

/** Time that moves only when told; timers fire in deadline order as it passes them. */
export class FakeClock implements SchedulerTimers {
  time = 0
  private timers: { at: number; callback: () => void; id: number }[] = []
  private ids = 0

  readonly now = (): number => this.time

  set(callback: () => void, ms: number): unknown {
    const id = ++this.ids
    this.timers.push({ at: this.time + ms, callback, id })
    return id
  }

  clear(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle)
  }

  get pending(): number {
    return this.timers.length
  }

  advance(ms: number): void {
    const until = this.time + ms
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (due === undefined) break
      this.timers = this.timers.filter((timer) => timer !== due)
      this.time = Math.max(this.time, due.at)
      due.callback()
    }
    this.time = until
  }
}

export type Outcome = 'waiting' | 'granted' | 'refused' | 'cancelled'

/** One request under test: its ticket, and how it ended (each waiter callback counted). */
export class Recorded implements Waiter<FakeBackend> {
  ticket!: Ticket
  grant: Grant<FakeBackend> | undefined
  error: GatewayError | undefined
  ends = 0
  /** Order in which requests were granted, over all of them. */
  grantedAs = -1

  constructor(
    readonly id: number,
    readonly request: JobRequest<FakeBackend>,
    private readonly grants: Recorded[],
  ) {}

  get outcome(): Outcome {
    if (this.grant !== undefined) return 'granted'
    if (this.error !== undefined) return 'refused'
    return this.cancelled ? 'cancelled' : 'waiting'
  }

  cancelled = false
  /** It had to wait: no slot was free when it was admitted. */
  queued = false

  onReady(grant: Grant<FakeBackend>): void {
    this.ends++
    this.grant = grant
    this.grantedAs = this.grants.length
    this.grants.push(this)
  }

  onRefused(error: GatewayError): void {
    this.ends++
    this.error = error
  }
}

export interface HarnessOptions extends Partial<SchedulerSettings> {
  backends: FakeBackend[]
}

/** A scheduler on fake backends and a fake clock, with every request it was asked recorded. */
export class Harness {
  readonly clock = new FakeClock()
  readonly scheduler: Scheduler<FakeBackend>
  readonly requests: Recorded[] = []
  readonly grants: Recorded[] = []
  readonly waited: number[] = []
  backends: FakeBackend[]

  constructor(options: HarnessOptions) {
    this.backends = options.backends
    this.scheduler = new Scheduler<FakeBackend>({
      policy: options.policy ?? 'fair',
      maxQueue: options.maxQueue ?? 512,
      maxWaitMs: options.maxWaitMs ?? 300_000,
      view: fakeView,
      backends: this.backends,
      now: this.clock.now,
      timers: this.clock,
      onWaited: (ms) => this.waited.push(ms),
    })
  }

  admit(
    user: string,
    model: string,
    options: { weight?: number; inputTokens?: number; exclude?: FakeBackend[] } = {},
  ): Recorded {
    const request = { user, model, weight: options.weight ?? 1, inputTokens: options.inputTokens ?? 0 }
    const recorded = new Recorded(
      this.requests.length,
      options.exclude ? { ...request, exclude: options.exclude } : request,
      this.grants,
    )
    this.requests.push(recorded)
    recorded.ticket = this.scheduler.admit(recorded.request, recorded)
    recorded.queued = recorded.outcome === 'waiting'
    return recorded
  }

  cancel(recorded: Recorded): boolean {
    const left = recorded.ticket.cancel()
    if (left) recorded.cancelled = true
    return left
  }

  /** Requests holding a slot now (granted, not yet released). */
  running(): Recorded[] {
    return this.requests.filter((r) => r.grant !== undefined && !this.released.has(r))
  }

  readonly released = new Set<Recorded>()

  release(recorded: Recorded): void {
    this.released.add(recorded)
    recorded.grant!.release()
  }

  waiting(): Recorded[] {
    return this.requests.filter((r) => r.outcome === 'waiting')
  }
}
