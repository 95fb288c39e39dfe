// A doubly linked list through the jobs themselves (no nodes allocated): the waiting jobs in admission order (the
// oldest first, whose deadline is the next to pass), or the running ones.
import type { ScheduledJob } from './scheduledJob.js'

export class JobList<B> {
  first: ScheduledJob<B> | undefined = undefined
  private last: ScheduledJob<B> | undefined = undefined

  push(job: ScheduledJob<B>): void {
    job.listPrev = this.last
    job.listNext = undefined
    if (this.last === undefined) this.first = job
    else this.last.listNext = job
    this.last = job
  }

  remove(job: ScheduledJob<B>): void {
    if (job.listPrev === undefined) this.first = job.listNext
    else job.listPrev.listNext = job.listNext
    if (job.listNext === undefined) this.last = job.listPrev
    else job.listNext.listPrev = job.listPrev
    job.listPrev = job.listNext = undefined
  }
}
