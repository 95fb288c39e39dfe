// Who goes next: the virtual token counter (VTC, Sheng et al., OSDI '24). Each user has a counter of the service they
// received (tokens ÷ weight); the waiting user with the lowest counter goes next, FIFO within a user. A user who
// becomes backlogged is first lifted to the lowest counter among backlogged users (or, when nobody waits, to the
// counter of the last user dispatched), so time spent idle banks no credit. Under `fifo` the counters are kept but
// order nothing: the oldest request goes next. Knows nothing of backends or time; the scheduler decides when.
import type { ScheduledJob } from './scheduledJob.js'
import type { SchedulingPolicy } from './schedulerTypes.js'
import { ModelQueue, UserQueue, UserState } from './userQueues.js'

/** Idle model queues beyond this many are dropped (an unknown inventory lets any model name through). */
const keptIdleModels = 256

export class FairQueue<B> {
  private readonly users = new Map<string, UserState<B>>()
  readonly models = new Map<string, ModelQueue<B>>()
  /** The models some request waits for. */
  readonly waitingModels: ModelQueue<B>[] = []
  /** Requests waiting, over all models. */
  waiting = 0
  private backloggedUsers = 0
  /** The counter of the user who last left the queue: where an arriving user starts when nobody waits. */
  private lastDispatchedCounter = 0
  private fair: boolean

  constructor(policy: SchedulingPolicy) {
    this.fair = policy === 'fair'
  }

  setPolicy(policy: SchedulingPolicy): void {
    this.fair = policy === 'fair'
    for (const model of this.models.values()) model.users.reorder(this.fair)
  }

  user(name: string): UserState<B> {
    let user = this.users.get(name)
    if (user === undefined) this.users.set(name, (user = new UserState<B>(name)))
    return user
  }

  counterOf(name: string): number {
    return this.users.get(name)?.counter ?? 0
  }

  model(name: string): ModelQueue<B> {
    let model = this.models.get(name)
    if (model === undefined) this.models.set(name, (model = new ModelQueue<B>(name, this.fair)))
    return model
  }

  /** A user about to wait (or to be dispatched without waiting) who waits for nothing yet banks no idle time. */
  liftIfIdle(user: UserState<B>): void {
    if (!this.fair || user.waiting > 0) return
    const floor = this.backloggedUsers > 0 ? this.lowestBackloggedCounter() : this.lastDispatchedCounter
    if (user.counter < floor) user.counter = floor
  }

  enqueue(job: ScheduledJob<B>): void {
    const user = job.user
    const model = job.model
    let queue: UserQueue<B> | undefined
    for (const candidate of user.queues) if (candidate.model === model) queue = candidate
    if (queue === undefined) {
      queue = new UserQueue(user, model)
      queue.append(job)
      user.queues.push(queue)
      model.users.push(queue)
    } else queue.append(job)
    if (user.waiting++ === 0) this.backloggedUsers++
    if (model.waiting++ === 0) {
      model.waitingIndex = this.waitingModels.length
      this.waitingModels.push(model)
    }
    this.waiting++
  }

  /** Takes a waiting job out (dispatched, cancelled or refused). */
  remove(job: ScheduledJob<B>): void {
    const queue = job.userQueue!
    const user = job.user
    const model = job.model
    const wasHead = queue.unlink(job)
    if (queue.head === undefined) {
      model.users.remove(queue)
      const queues = user.queues
      queues.splice(queues.indexOf(queue), 1)
    } else if (wasHead) model.users.raised(queue)
    if (--user.waiting === 0) this.backloggedUsers--
    if (--model.waiting === 0) this.forgetWaitingModel(model)
    this.waiting--
  }

  /** A job left the queue for a slot: its input tokens are charged now. */
  dispatched(job: ScheduledJob<B>): void {
    this.lastDispatchedCounter = job.user.counter
    this.charge(job.user, job.inputTokens / job.weight)
  }

  /** Adds service to a user's counter (tokens already divided by the weight); their place in each heap follows. */
  charge(user: UserState<B>, amount: number): void {
    if (amount <= 0) return
    user.counter += amount
    if (this.fair) for (const queue of user.queues) queue.model.users.raised(queue)
  }

  /** Drops a model's queue once nothing waits or runs for it, when many such are kept. */
  dropIfIdle(model: ModelQueue<B>): void {
    if (model.waiting === 0 && model.runningTotal === 0 && this.models.size > keptIdleModels)
      this.models.delete(model.name)
  }

  private lowestBackloggedCounter(): number {
    let lowest = Infinity
    for (const model of this.waitingModels) {
      const counter = model.users.peek()!.user.counter
      if (counter < lowest) lowest = counter
    }
    return lowest
  }

  private forgetWaitingModel(model: ModelQueue<B>): void {
    const last = this.waitingModels.pop()!
    if (last !== model) {
      this.waitingModels[model.waitingIndex] = last
      last.waitingIndex = model.waitingIndex
    }
    model.waitingIndex = -1
  }
}
