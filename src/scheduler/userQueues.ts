// The shapes the fair queue is made of: a user (their virtual counter, over all models), one user's waiting requests
// for one model (FIFO, a doubly linked list through the jobs), and one model's queue (its users in a heap, and how many
// of its requests run on each backend).
import type { ScheduledJob } from './scheduledJob.js'
import { UserHeap } from './userHeap.js'

export class UserState<B> {
  /** Service received, in tokens divided by the weight they were charged at (VTC's counter). */
  counter = 0
  /** Requests waiting, over all models: > 0 means backlogged. */
  waiting = 0
  /** The per-model queues that hold some of those requests. */
  readonly queues: UserQueue<B>[] = []

  constructor(readonly name: string) {}
}

export class UserQueue<B> {
  head: ScheduledJob<B> | undefined = undefined
  tail: ScheduledJob<B> | undefined = undefined
  heapIndex = -1

  constructor(
    readonly user: UserState<B>,
    readonly model: ModelQueue<B>,
  ) {}

  append(job: ScheduledJob<B>): void {
    job.userQueue = this
    job.userPrev = this.tail
    job.userNext = undefined
    if (this.tail === undefined) this.head = job
    else this.tail.userNext = job
    this.tail = job
  }

  /** Unlinks a job; true when it was the head (the queue's place in its heap then changes). */
  unlink(job: ScheduledJob<B>): boolean {
    const wasHead = this.head === job
    if (job.userPrev === undefined) this.head = job.userNext
    else job.userPrev.userNext = job.userNext
    if (job.userNext === undefined) this.tail = job.userPrev
    else job.userNext.userPrev = job.userPrev
    job.userPrev = job.userNext = job.userQueue = undefined
    return wasHead
  }
}

export class ModelQueue<B> {
  readonly users: UserHeap<B>
  waiting = 0
  /** Running requests of this model per backend: a backend takes at most `parallel` of them. */
  readonly running = new Map<B, number>()
  runningTotal = 0
  /** Its place in the scheduler's list of models with waiting requests (-1: none waits). */
  waitingIndex = -1

  constructor(
    readonly name: string,
    fair: boolean,
  ) {
    this.users = new UserHeap<B>(fair)
  }
}
