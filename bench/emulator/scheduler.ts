// Ollama's scheduler (server/sched.go) as the emulator plays it, pure and driven by an injected clock so it is tested
// without sleeping. A loaded model ("runner") serves `parallel` requests at once (OLLAMA_NUM_PARALLEL); the rest wait
// first come, first served in one queue of at most `maxQueue` (OLLAMA_MAX_QUEUE: more is Ollama's 503). At most
// `maxLoaded` models are in memory (OLLAMA_MAX_LOADED_MODELS); loading one takes `loadMs`, and a request whose model is
// not loaded when memory is full waits until a loaded model goes idle and is evicted. Like Ollama's single pending
// loop, such a request holds up everything queued behind it (head of line), while requests queued ahead of it keep
// being served. An idle model unloads `keep_alive` after its last request (0: at once, Infinity: never).
// The defaults (no limits, no load time) start every request at once: the emulator behaves as it always did.

export interface SchedulerLimits {
  /** Requests one loaded model runs at once (Infinity: no limit). */
  parallel: number
  /** Requests that may wait; one more is refused (Ollama's "server busy"). */
  maxQueue: number
  /** Models in memory at once (Infinity: no limit). */
  maxLoaded: number
  /** Milliseconds a load takes. */
  loadMs: number
  /** keep_alive of a model whose requests never set one (OLLAMA_KEEP_ALIVE, 5 min). */
  keepAliveMs: number
}

export const defaultLimits: SchedulerLimits = {
  parallel: Infinity,
  maxQueue: 512,
  maxLoaded: Infinity,
  loadMs: 0,
  keepAliveMs: 5 * 60_000,
}

/** Time for the scheduler: a wall clock in ms and a way to run something later (a load finishing). */
export interface SchedulerClock {
  now(): number
  after(ms: number, run: () => void): void
}

export const realClock: SchedulerClock = {
  now: () => Date.now(),
  // unref: a load still under way never keeps a test process alive after the emulator closed.
  after: (ms, run) => void setTimeout(run, ms).unref(),
}

/** Per-model counters a test reads (EmulatorStats.models): live values and totals since start. */
export interface ModelCounts {
  /** Requests holding a slot now. */
  running: number
  /** The most that ever held a slot at once. */
  peakRunning: number
  /** Requests waiting now (for a slot or for the model to load). */
  queued: number
  peakQueued: number
  /** Requests that got a slot. */
  served: number
  /** Requests refused because the queue was full. */
  rejected: number
  loads: number
  /** Unloads to make room for another model. */
  evictions: number
  /** Unloads because keep_alive ran out (or was 0). */
  unloads: number
}

export interface Ticket {
  readonly id: number
  readonly model: string
  readonly keepAliveMs: number | undefined
  state: 'queued' | 'running' | 'done'
}

/** A model in memory, as /api/ps shows it. */
export interface LoadedModel {
  model: string
  loading: boolean
  running: number
  /** When it unloads if nothing uses it (ms since the epoch; Infinity: never). */
  expiresAt: number
}

interface Runner {
  model: string
  loading: boolean
  running: number
  keepAliveMs: number
  /** When its last request ended (or its load did), for keep_alive. */
  idleSince: number
  /** Sequence number of its last use, for least-recently-used eviction. */
  lastUsed: number
}

interface Waiting {
  ticket: Ticket
  start: () => void
}

export class OllamaScheduler {
  readonly limits: SchedulerLimits
  /** Per-model counters, shared with the emulator's stats. */
  readonly counts = new Map<string, ModelCounts>()
  private readonly runners = new Map<string, Runner>()
  /** The runner each running ticket holds a slot on (it may have been dropped since, by a crash). */
  private readonly holders = new Map<Ticket, Runner>()
  private readonly queue: Waiting[] = []
  private sequence = 0
  private dispatching = false
  /** Something changed during a dispatch pass: walk the queue again. */
  private changed = false

  constructor(
    limits: Partial<SchedulerLimits> = {},
    private readonly clock: SchedulerClock = realClock,
  ) {
    this.limits = { ...defaultLimits, ...limits }
  }

  /** True when any Ollama limit is set (the emulator then also answers load-only chat requests as Ollama does). */
  get limited(): boolean {
    const { parallel, maxLoaded, loadMs } = this.limits
    return parallel !== Infinity || maxLoaded !== Infinity || loadMs > 0
  }

  /**
   * A request for `model`: `start` runs (maybe at once, maybe later) when it holds a slot on the loaded model.
   * undefined: the queue is full, the request is refused and `start` never runs.
   */
  enter(model: string, keepAliveMs: number | undefined, start: () => void): Ticket | undefined {
    this.sweep()
    const ticket: Ticket = { id: ++this.sequence, model, keepAliveMs, state: 'queued' }
    const counts = this.countsOf(model)
    if (this.queue.length === 0 && this.tryStart(ticket)) {
      start()
      return ticket
    }
    if (this.queue.length >= this.limits.maxQueue) {
      counts.rejected++
      ticket.state = 'done'
      return undefined
    }
    this.queue.push({ ticket, start })
    counts.queued++
    counts.peakQueued = Math.max(counts.peakQueued, counts.queued)
    this.dispatch()
    return ticket
  }

  /** The request ended or its client went away: frees its slot, or its place in the queue. Idempotent. */
  leave(ticket: Ticket): void {
    if (ticket.state === 'done') return
    const counts = this.countsOf(ticket.model)
    if (ticket.state === 'queued') {
      this.queue.splice(
        this.queue.findIndex((waiting) => waiting.ticket === ticket),
        1,
      )
      counts.queued--
    } else {
      const runner = this.holders.get(ticket)!
      this.holders.delete(ticket)
      runner.running--
      counts.running--
      runner.lastUsed = ++this.sequence
      if (runner.running === 0 && this.runners.get(ticket.model) === runner) {
        runner.idleSince = this.clock.now()
        // In Ollama the requests waiting for this runner hold a reference to it, so keep_alive 0 waits for them too.
        const waited = this.queue.some((waiting) => waiting.ticket.model === ticket.model)
        if (runner.keepAliveMs === 0 && !waited) this.unload(runner, 'unloads')
      }
    }
    ticket.state = 'done'
    this.dispatch()
  }

  /** keep_alive 0 with nothing to run: unload now if idle, else as soon as its last request ends (Ollama's expireRunner). */
  expire(model: string): void {
    const runner = this.runners.get(model)
    if (!runner) return
    runner.keepAliveMs = 0
    if (runner.running === 0 && !runner.loading) this.unload(runner, 'unloads')
    this.dispatch()
  }

  /**
   * As when Ollama is killed: everything in memory is gone and every waiting request with it (it never runs); requests
   * still running end on their own, without touching what is loaded after.
   */
  crash(): void {
    for (const waiting of this.queue.splice(0)) {
      waiting.ticket.state = 'done'
      this.countsOf(waiting.ticket.model).queued--
    }
    for (const runner of this.runners.values()) this.unload(runner, 'unloads')
  }

  /** Loads a model at once, as if a request had loaded it before the emulator started. */
  preload(model: string): void {
    if (this.runners.has(model) || this.runners.size >= this.limits.maxLoaded) return
    this.load(model, this.limits.keepAliveMs)
    this.ready(this.runners.get(model)!)
  }

  /** The scheduler's clock, for whoever renders its times. */
  now(): number {
    return this.clock.now()
  }

  /** What is in memory now, longest time left first (Ollama's /api/ps order). */
  loaded(): LoadedModel[] {
    this.sweep()
    const now = this.clock.now()
    return [...this.runners.values()]
      .map((runner) => ({
        model: runner.model,
        loading: runner.loading,
        running: runner.running,
        expiresAt: (runner.running > 0 || runner.loading ? now : runner.idleSince) + runner.keepAliveMs,
      }))
      .sort((a, b) => b.expiresAt - a.expiresAt)
  }

  countsOf(model: string): ModelCounts {
    let counts = this.counts.get(model)
    if (!counts) {
      counts = {
        running: 0,
        peakRunning: 0,
        queued: 0,
        peakQueued: 0,
        served: 0,
        rejected: 0,
        loads: 0,
        evictions: 0,
        unloads: 0,
      }
      this.counts.set(model, counts)
    }
    return counts
  }

  /**
   * Starts what can start. A request started here may end at once and call leave (a stream:false reply): that nested
   * call only asks for another pass, so the queue is never walked while it changes and the stack stays flat.
   */
  private dispatch(): void {
    if (this.dispatching) {
      this.changed = true
      return
    }
    this.dispatching = true
    try {
      do {
        this.changed = false
        this.dispatchPass()
      } while (this.changed)
    } finally {
      this.dispatching = false
    }
  }

  /** One walk of the queue in order; stops at a request that needs memory no idle model can give up. */
  private dispatchPass(): void {
    for (let index = 0; index < this.queue.length;) {
      const waiting = this.queue[index]!
      const runner = this.runners.get(waiting.ticket.model)
      if (!runner && !this.makeRoom()) return
      if (this.tryStart(waiting.ticket)) {
        this.queue.splice(index, 1)
        this.countsOf(waiting.ticket.model).queued--
        waiting.start()
      } else index++
    }
  }

  /** Gives the ticket a slot if its model is loaded with one free; begins loading the model if there is room. */
  private tryStart(ticket: Ticket): boolean {
    let runner = this.runners.get(ticket.model)
    if (!runner) {
      if (this.runners.size >= this.limits.maxLoaded) return false
      runner = this.load(ticket.model, ticket.keepAliveMs ?? this.limits.keepAliveMs)
    }
    if (runner.loading || runner.running >= this.limits.parallel) return false
    if (ticket.keepAliveMs !== undefined) runner.keepAliveMs = ticket.keepAliveMs
    runner.running++
    runner.lastUsed = ++this.sequence
    this.holders.set(ticket, runner)
    ticket.state = 'running'
    const counts = this.countsOf(ticket.model)
    counts.running++
    counts.served++
    counts.peakRunning = Math.max(counts.peakRunning, counts.running)
    return true
  }

  private load(model: string, keepAliveMs: number): Runner {
    const runner: Runner = { model, loading: true, running: 0, keepAliveMs, idleSince: 0, lastUsed: ++this.sequence }
    this.runners.set(model, runner)
    this.countsOf(model).loads++
    if (this.limits.loadMs <= 0) this.ready(runner)
    else
      this.clock.after(this.limits.loadMs, () => {
        if (this.runners.get(model) !== runner) return
        this.ready(runner)
        this.dispatch()
      })
    return runner
  }

  private ready(runner: Runner): void {
    runner.loading = false
    runner.idleSince = this.clock.now()
  }

  /** Room for one more model: true if there is some, or if an idle model could be evicted for it. */
  private makeRoom(): boolean {
    if (this.runners.size < this.limits.maxLoaded) return true
    // Ollama unloads the idle runner with the shortest keep_alive; among equals, the least recently used goes.
    let victim: Runner | undefined
    for (const runner of this.runners.values()) {
      if (runner.running > 0 || runner.loading) continue
      if (
        !victim ||
        runner.keepAliveMs < victim.keepAliveMs ||
        (runner.keepAliveMs === victim.keepAliveMs && runner.lastUsed < victim.lastUsed)
      )
        victim = runner
    }
    if (!victim) return false
    this.unload(victim, 'evictions')
    return true
  }

  private unload(runner: Runner, why: 'evictions' | 'unloads'): void {
    this.runners.delete(runner.model)
    this.countsOf(runner.model)[why]++
  }

  /** Unloads every idle model whose keep_alive ran out (lazily: nothing waits on a timer for it). */
  private sweep(): void {
    const now = this.clock.now()
    for (const runner of this.runners.values()) {
      if (runner.running === 0 && !runner.loading && now >= runner.idleSince + runner.keepAliveMs)
        this.unload(runner, 'unloads')
    }
  }
}
