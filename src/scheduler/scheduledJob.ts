// One admitted request, from admission to its end. The same object is the caller's ticket and, once dispatched, its
// grant, and it links itself into the scheduler's lists (intrusive links), so a request costs one allocation.
import type { GatewayError } from '../errors.js'
import type { Grant, Ticket, Waiter } from './schedulerTypes.js'
import type { ModelQueue, UserQueue, UserState } from './userQueues.js'

/** waiting → running → released, or waiting → refused | cancelled (a refusal at admission never waited). */
export type JobState = 'waiting' | 'running' | 'released' | 'refused' | 'cancelled'

/** What a job asks of its scheduler; the scheduler implements it. */
export interface JobOwner<B> {
  cancelJob(job: ScheduledJob<B>): boolean
  releaseJob(job: ScheduledJob<B>): void
  chargeJob(job: ScheduledJob<B>, tokens: number): void
}

export class ScheduledJob<B> implements Ticket, Grant<B> {
  state: JobState = 'waiting'
  /** Low-priority work (Scheduler.admitIdle): it does not count toward the interactive peaks. */
  lowPriority = false
  /** Order of admission: FIFO within a user and under `fifo`. */
  seq = 0
  enqueuedAt = 0
  queuedMs = 0
  backend!: B
  error: GatewayError | undefined = undefined
  /** The per-user queue it waits in. */
  userQueue: UserQueue<B> | undefined = undefined
  userPrev: ScheduledJob<B> | undefined = undefined
  userNext: ScheduledJob<B> | undefined = undefined
  /** Links in the scheduler's list of waiting (in admission order) or of running jobs: a job is in one at a time. */
  listPrev: ScheduledJob<B> | undefined = undefined
  listNext: ScheduledJob<B> | undefined = undefined

  constructor(
    private readonly owner: JobOwner<B>,
    readonly user: UserState<B>,
    readonly model: ModelQueue<B>,
    readonly weight: number,
    readonly inputTokens: number,
    readonly exclude: readonly B[] | undefined,
    readonly waiter: Waiter<B>,
  ) {}

  cancel(): boolean {
    return this.owner.cancelJob(this)
  }

  release(): void {
    this.owner.releaseJob(this)
  }

  chargeOutput(tokens: number): void {
    this.owner.chargeJob(this, tokens)
  }

  /** Tells the waiter how the request ended (called once, by the scheduler, after its state is settled). */
  notify(): void {
    if (this.state === 'refused') this.waiter.onRefused(this.error!)
    else this.waiter.onReady(this)
  }
}
