// The gateway-owned queue: a request gets a slot on a backend that can serve its model the moment one is free, and
// waits in the gateway otherwise, fairly per user (fairQueue.ts) and at most `maxWaitMs`. Synchronous and pure: time
// comes from `now`, the one timer (for the oldest waiting request's deadline) from `timers`, backends through a view.
//
// How a caller uses it (one per gateway; `B` is the proxy's backend type):
//   const scheduler = new Scheduler({ policy, maxQueue, maxWaitMs, view, backends, now })
//   const ticket = scheduler.admit({ user, weight, model, inputTokens, exclude }, waiter)
//     waiter.onReady(grant): dispatch to grant.backend; grant.chargeOutput(n) as tokens stream (or once at the end);
//                            grant.release() when the response ends or is aborted (idempotent).
//     waiter.onRefused(error): answer error (queue_full: add Retry-After), no slot was taken.
//     ticket.cancel(): the client went away while waiting; no callback follows. False: it was granted already (its
//                      onReady has run or is about to): release the grant as soon as it is in hand.
//   scheduler.setBackends(list) after a reload; scheduler.wake() when a backend becomes usable or inventories change.
//   A backend is known by identity: a reload that replaces a backend's object passes setBackends a `successor`, so that
//   its running requests still count against its slots (else the new object starts with free slots).
// Exactly one of onReady / onRefused is called per request, unless it is cancelled while waiting. A free slot is granted
// before admit returns; when admit (or release, ...) is called from inside a callback, the callbacks it causes run
// right after that callback returns instead (the scheduler's state is always settled before any callback runs).
// Work-conserving: after every call, no usable free slot is left while a request that may use it waits.
import { GatewayError } from '../errors.js'
import { tokenCount } from '../limits/limitNumbers.js'
import { pickBackend, unservable } from './backendPicker.js'
import { FairQueue } from './fairQueue.js'
import { InteractivePeaks } from './interactivePeaks.js'
import { JobList } from './jobList.js'
import { queueSnapshot } from './queueSnapshot.js'
import { ScheduledJob, type JobOwner } from './scheduledJob.js'
import type {
  BackendView,
  JobRequest,
  ModelQueueSnapshot,
  SchedulerOptions,
  SchedulerSettings,
  SchedulerTimers,
  Ticket,
  Waiter,
} from './schedulerTypes.js'
import type { ModelQueue, UserQueue } from './userQueues.js'

/** setTimeout's longest delay; a longer one would fire at once. */
const longestTimer = 2 ** 31 - 1

const nodeTimers: SchedulerTimers = {
  set(callback, ms) {
    const timer = setTimeout(callback, ms)
    timer.unref()
    return timer
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** The ticket of a request refused at admission: there is nothing left to cancel. */
const closedTicket: Ticket = { cancel: () => false }

export class Scheduler<B> implements JobOwner<B> {
  private readonly queue: FairQueue<B>
  private readonly waitingJobs = new JobList<B>()
  private readonly runningJobs = new JobList<B>()
  /** Jobs whose waiter is to be told, in order; emptied before the outermost call returns. */
  private readonly outbox: ScheduledJob<B>[] = []
  private notifying = false
  private settings: SchedulerSettings
  private backends: readonly B[]
  private readonly view: BackendView<B>
  private readonly now: () => number
  private readonly timers: SchedulerTimers
  private readonly onWaited: ((ms: number, model: string) => void) | undefined
  private seq = 0
  private timer: unknown = undefined
  private timerArmed = false
  /** The backend firstFitting chose (a field, not a returned pair: nothing allocated per dispatch). */
  private picked: B | undefined = undefined
  /** Interactive requests running per model and their recent peak: the room low-priority work leaves free. */
  private readonly peaks = new InteractivePeaks()
  /**
   * Called when a slot may have been left idle (a release nobody of its model waited for, a wake): low-priority work
   * (admitIdle) may try again. Called once the scheduler's state is settled, like the waiters' callbacks.
   */
  onIdleSlot: (() => void) | undefined = undefined

  constructor(options: SchedulerOptions<B>) {
    this.settings = checkedSettings(options)
    this.queue = new FairQueue<B>(this.settings.policy)
    this.view = options.view
    this.backends = options.backends
    this.now = options.now
    this.timers = options.timers ?? nodeTimers
    this.onWaited = options.onWaited
  }

  /** Asks for a slot; the waiter hears how it ends (see the header). Throws RangeError for a weight that is not > 0. */
  admit(request: JobRequest<B>, waiter: Waiter<B>): Ticket {
    const weight = request.weight
    if (!(weight > 0 && weight < Infinity)) throw new RangeError(`scheduler: weight must be > 0, got ${weight}`)
    const now = this.now()
    let model = this.queue.models.get(request.model)
    if (model === undefined || model.waiting === 0) {
      const backend = pickBackend(this.backends, this.view, request.model, model?.running, request.exclude, now)
      if (backend !== undefined) {
        const job = this.newJob(request, (model ??= this.queue.model(request.model)), waiter, now)
        this.start(job, backend, now)
        this.notifyWaiters()
        return job
      }
    }
    const refusal =
      unservable(this.backends, this.view, request.model, request.exclude) ??
      (this.queue.waiting >= this.settings.maxQueue ? queueFull(this.queue.waiting) : undefined)
    if (refusal !== undefined) {
      waiter.onRefused(refusal)
      return closedTicket
    }
    model ??= this.queue.model(request.model)
    const job = this.newJob(request, model, waiter, now)
    job.seq = ++this.seq
    this.queue.enqueue(job)
    this.waitingJobs.push(job)
    this.armTimer(now)
    // Others were waiting: a slot they all exclude may still fit this one.
    if (model.waiting > 1) this.dispatch(model, now)
    this.notifyWaiters()
    return job
  }

  /**
   * Low priority (a batch line): a slot only when one is idle now — no request waits for the model — and never a place
   * in line, so an interactive request never waits while low-priority work is dispatched in its stead. There is no
   * preemption (a slot taken is held until the work ends), so low-priority work also leaves free as many slots as the
   * model's interactive requests ran at once within the last `reserveMs` (beyond those running now): interactive
   * traffic can return to its recent peak without waiting. 0 turns that reserve off. Undefined: nothing was idle; try
   * again when onIdleSlot says so. A grant is told to the waiter before this returns.
   */
  admitIdle(request: JobRequest<B>, waiter: Waiter<B>, reserveMs: number): Ticket | undefined {
    const weight = request.weight
    if (!(weight > 0 && weight < Infinity)) throw new RangeError(`scheduler: weight must be > 0, got ${weight}`)
    const now = this.now()
    const model = this.queue.models.get(request.model)
    if (model !== undefined && model.waiting > 0) return undefined
    const backend = pickBackend(this.backends, this.view, request.model, model?.running, request.exclude, now)
    if (backend === undefined) return undefined
    this.peaks.setWindow(reserveMs, now)
    const reserve = this.peaks.reserve(request.model, now)
    if (reserve > 0 && this.freeSlots(request.model, model?.running, now) - 1 < reserve) return undefined
    const job = this.newJob(request, model ?? this.queue.model(request.model), waiter, now)
    job.lowPriority = true
    this.start(job, backend, now)
    this.notifyWaiters()
    return job
  }

  /** Free slots for `model` over the backends that may take it now. */
  private freeSlots(model: string, running: ReadonlyMap<B, number> | undefined, now: number): number {
    let free = 0
    for (const backend of this.backends) {
      if (this.view.draining?.(backend) || !this.view.usable(backend, now) || !this.view.installed(backend, model))
        continue
      free += Math.max(0, this.view.parallel(backend) - (running?.get(backend) ?? 0))
    }
    return free
  }

  /** Whether low-priority work for `model` could never be served (no backend has it): its refusal, else undefined. */
  unservable(model: string): GatewayError | undefined {
    return unservable(this.backends, this.view, model, undefined)
  }

  /**
   * A reload changed the backends: requests keep their place; those no backend can serve any more are refused.
   * `successor`: the new object for an old backend that is still the same server (a reload that rebuilds the pools
   * makes new objects for every backend). Requests running on the old object count against its successor's slots:
   * otherwise the rebuilt backend looks idle while they still run there, and Ollama is sent more than its slots.
   */
  setBackends(backends: readonly B[], successor?: (old: B) => B | undefined): void {
    if (successor !== undefined) {
      for (let job = this.runningJobs.first; job !== undefined; job = job.listNext) {
        if (backends.includes(job.backend)) continue
        const next = successor(job.backend)
        if (next === undefined) continue
        const running = job.model.running
        const left = running.get(job.backend)! - 1
        if (left > 0) running.set(job.backend, left)
        else running.delete(job.backend)
        running.set(next, (running.get(next) ?? 0) + 1)
        job.backend = next
      }
    }
    this.backends = backends
    this.wake()
  }

  /** Something the view reports changed (a backend came back, an inventory was read): dispatch what now fits. */
  wake(): void {
    const now = this.now()
    for (const model of [...this.queue.waitingModels]) {
      const refusal = unservable(this.backends, this.view, model.name, undefined)
      if (refusal === undefined) this.dispatch(model, now)
      else this.refuseModel(model, refusal)
    }
    this.notifyWaiters()
    this.onIdleSlot?.()
  }

  /** A reload changed the settings; a shorter max wait refuses, now, whoever waited longer already. */
  configure(settings: SchedulerSettings): void {
    const checked = checkedSettings(settings)
    if (checked.policy !== this.settings.policy) this.queue.setPolicy(checked.policy)
    const waitChanged = checked.maxWaitMs !== this.settings.maxWaitMs
    this.settings = checked
    if (waitChanged) {
      if (this.timerArmed) this.timers.clear(this.timer)
      this.timerArmed = false
      this.expireOverdue()
    }
  }

  /** Refuses every waiting request with `error` (shutting down); running ones are left to finish. */
  refuseWaiting(error: GatewayError): void {
    for (let job = this.waitingJobs.first; job !== undefined; job = this.waitingJobs.first) this.refuse(job, error)
    if (this.timerArmed) this.timers.clear(this.timer)
    this.timerArmed = false
    this.notifyWaiters()
  }

  /** Requests waiting for `model`, or for any model. */
  depth(model?: string): number {
    if (model === undefined) return this.queue.waiting
    return this.queue.models.get(model)?.waiting ?? 0
  }

  /** Requests waiting per model, for the queue-depth gauge (models seen lately, 0 included). */
  depthByModel(): Map<string, number> {
    const depths = new Map<string, number>()
    for (const [name, model] of this.queue.models) depths.set(name, model.waiting)
    return depths
  }

  /**
   * Requests waiting that `backend` could take (it has their model, they do not exclude it), for the admin view of the
   * backends. A waiting request is bound to no backend yet, so it counts at each backend it could go to.
   */
  waitingFor(backend: B): number {
    let count = 0
    for (let job = this.waitingJobs.first; job !== undefined; job = job.listNext) {
      if (this.view.installed(backend, job.model.name) && !job.exclude?.includes(backend)) count++
    }
    return count
  }

  /** A user's virtual counter: service received, in tokens ÷ weight (for the admin view and tests). */
  counterOf(user: string): number {
    return this.queue.counterOf(user)
  }

  /** Per model, waiting and running requests per user; `onlyUser`: that user's alone. */
  snapshot(onlyUser?: string): ModelQueueSnapshot[] {
    return queueSnapshot(this.waitingJobs, this.runningJobs, this.now(), onlyUser)
  }

  // JobOwner: reached through a ticket's cancel() and a grant's release() / chargeOutput(), not called directly.

  cancelJob(job: ScheduledJob<B>): boolean {
    if (job.state !== 'waiting') return false
    job.state = 'cancelled'
    this.leaveQueue(job)
    this.queue.dropIfIdle(job.model)
    return true
  }

  releaseJob(job: ScheduledJob<B>): void {
    if (job.state !== 'running') return
    job.state = 'released'
    this.runningJobs.remove(job)
    const model = job.model
    if (!job.lowPriority) this.peaks.ended(model.name)
    // A count that reaches 0 is deleted: the map must not keep backends a reload replaced (and their pools) alive.
    const left = model.running.get(job.backend)! - 1
    if (left > 0) model.running.set(job.backend, left)
    else model.running.delete(job.backend)
    model.runningTotal--
    const idle = model.waiting === 0
    if (!idle) this.dispatch(model, this.now())
    else this.queue.dropIfIdle(model)
    this.notifyWaiters()
    if (idle) this.onIdleSlot?.()
  }

  chargeJob(job: ScheduledJob<B>, tokens: number): void {
    if (job.state !== 'running' && job.state !== 'released') return
    // A count a backend got wrong (NaN, negative) charges nothing; a huge one is capped (limitNumbers.ts).
    const count = tokenCount(tokens)
    if (count !== undefined) this.queue.charge(job.user, count / job.weight)
  }

  private newJob(request: JobRequest<B>, model: ModelQueue<B>, waiter: Waiter<B>, now: number): ScheduledJob<B> {
    const user = this.queue.user(request.user)
    const inputTokens = tokenCount(request.inputTokens) ?? 0
    const job = new ScheduledJob(this, user, model, request.weight, inputTokens, request.exclude, waiter)
    job.enqueuedAt = now
    this.queue.liftIfIdle(user)
    return job
  }

  /** Gives a job (out of the queue already, or never in it) its slot on `backend`. */
  private start(job: ScheduledJob<B>, backend: B, now: number): void {
    job.state = 'running'
    job.backend = backend
    const model = job.model
    if (!job.lowPriority) this.peaks.started(model.name, now)
    model.running.set(backend, (model.running.get(backend) ?? 0) + 1)
    model.runningTotal++
    this.queue.dispatched(job)
    job.queuedMs = now > job.enqueuedAt ? now - job.enqueuedAt : 0
    this.runningJobs.push(job)
    this.outbox.push(job)
  }

  /** Fills the model's free slots from its queue, lowest counter first, until no slot is free or nobody fits one. */
  private dispatch(model: ModelQueue<B>, now: number): void {
    let free = pickBackend(this.backends, this.view, model.name, model.running, undefined, now)
    let setAside: UserQueue<B>[] | undefined
    // Under fifo, a request found behind its user's head (the head excludes the free backends) may not overtake an
    // older head of another user: it is kept aside until no older request fits.
    let behindHead: ScheduledJob<B> | undefined
    let behindHeadBackend: B | undefined
    while (free !== undefined) {
      const next = model.users.peek()
      let job = next === undefined ? undefined : this.firstFitting(next, free, now)
      if (next !== undefined && (job === undefined || (this.fifo && job !== next.head))) {
        // Every request of this user excludes the free backends (failover retries), or under fifo its fitting one
        // is behind the head: the next user may go.
        if (job !== undefined && (behindHead === undefined || job.seq < behindHead.seq)) {
          behindHead = job
          behindHeadBackend = this.picked
        }
        model.users.remove(next)
        ;(setAside ??= []).push(next)
        continue
      }
      if (behindHead !== undefined && (job === undefined || behindHead.seq < job.seq)) {
        job = behindHead
        this.picked = behindHeadBackend
      }
      if (job === undefined) break
      if (setAside !== undefined) for (const queue of setAside) model.users.push(queue)
      setAside = behindHead = behindHeadBackend = undefined
      this.leaveQueue(job)
      this.start(job, this.picked!, now)
      free = pickBackend(this.backends, this.view, model.name, model.running, undefined, now)
    }
    if (setAside !== undefined) for (const queue of setAside) model.users.push(queue)
  }

  private get fifo(): boolean {
    return this.settings.policy === 'fifo'
  }

  /** The user's oldest request that some free slot fits (usually the head); `picked` is that slot's backend. */
  private firstFitting(queue: UserQueue<B>, free: B, now: number): ScheduledJob<B> | undefined {
    for (let job = queue.head; job !== undefined; job = job.userNext) {
      if (job.exclude === undefined || job.exclude.length === 0) {
        this.picked = free
        return job
      }
      this.picked = pickBackend(this.backends, this.view, job.model.name, job.model.running, job.exclude, now)
      if (this.picked !== undefined) return job
    }
    return undefined
  }

  private leaveQueue(job: ScheduledJob<B>): void {
    this.queue.remove(job)
    this.waitingJobs.remove(job)
  }

  private refuse(job: ScheduledJob<B>, error: GatewayError): void {
    job.state = 'refused'
    job.error = error
    this.leaveQueue(job)
    this.queue.dropIfIdle(job.model)
    this.outbox.push(job)
  }

  private refuseModel(model: ModelQueue<B>, error: GatewayError): void {
    for (let job = this.waitingJobs.first; job !== undefined;) {
      const next = job.listNext
      if (job.model === model) this.refuse(job, error)
      job = next
    }
  }

  /** One timer, for the oldest waiting request's deadline; it re-arms itself for the next oldest. */
  private armTimer(now: number): void {
    const oldest = this.waitingJobs.first
    if (this.timerArmed || oldest === undefined) return
    const delay = Math.min(longestTimer, Math.max(0, oldest.enqueuedAt + this.settings.maxWaitMs - now))
    this.timerArmed = true
    this.timer = this.timers.set(this.onTimer, delay)
  }

  private readonly onTimer = (): void => {
    this.timerArmed = false
    this.expireOverdue()
  }

  private expireOverdue(): void {
    const now = this.now()
    const maxWaitMs = this.settings.maxWaitMs
    for (let job = this.waitingJobs.first; job !== undefined; job = this.waitingJobs.first) {
      if (now - job.enqueuedAt < maxWaitMs) break
      this.refuse(job, queueTimeout(job.model.name, maxWaitMs))
    }
    this.armTimer(now)
    this.notifyWaiters()
  }

  /**
   * Tells every waiter in the outbox, oldest first. A callback may call back into the scheduler: what that causes is
   * appended and told in this same loop, not recursively. A callback that throws does not stop the others; the first
   * error is rethrown at the end.
   */
  private notifyWaiters(): void {
    if (this.notifying) return
    this.notifying = true
    const outbox = this.outbox
    let failed = false
    let failure: unknown
    for (let i = 0; i < outbox.length; i++) {
      const job = outbox[i]!
      try {
        if (job.state !== 'refused') this.onWaited?.(job.queuedMs, job.model.name)
        job.notify()
      } catch (error) {
        if (!failed) failure = error
        failed = true
      }
    }
    outbox.length = 0
    this.notifying = false
    if (failed) throw failure
  }
}

function checkedSettings(settings: SchedulerSettings): SchedulerSettings {
  const { policy, maxQueue, maxWaitMs } = settings
  if (policy !== 'fair' && policy !== 'fifo') throw new RangeError(`scheduler: policy must be fair or fifo`)
  if (!(Number.isInteger(maxQueue) && maxQueue >= 0))
    throw new RangeError(`scheduler: maxQueue must be a whole number ≥ 0, got ${maxQueue}`)
  if (!(maxWaitMs > 0 && maxWaitMs < Infinity))
    throw new RangeError(`scheduler: maxWaitMs must be > 0 and finite, got ${maxWaitMs}`)
  return { policy, maxQueue, maxWaitMs }
}

function queueFull(waiting: number): GatewayError {
  return new GatewayError(
    'queue_full',
    `server busy, please try again: ${waiting} requests are already waiting in the gateway queue`,
  )
}

function queueTimeout(model: string, maxWaitMs: number): GatewayError {
  const seconds = Math.round(maxWaitMs / 100) / 10
  return new GatewayError(
    'queue_timeout',
    `server busy, please try again: no slot for model "${model}" came free within ${seconds} s`,
  )
}
