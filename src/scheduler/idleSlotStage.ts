// The schedule stage of low-priority work (batch lines, src/batch/): a line takes only a slot that interactive requests
// leave idle (Scheduler.admitIdle) and never waits in the interactive queue. Lines that find none wait here, in order,
// and try again whenever the scheduler says a slot may be idle (a release nobody waited for, a wake), and on a short
// tick for the reserve running out (no interactive request for a while: the last free slot becomes usable). They never
// time out: a batch has its own completion window.
import type { Scheduler } from './scheduler.js'
import {
  jobOf,
  RequestWaiter,
  type RoleWeights,
  type ScheduleNext,
  type ScheduleStage,
  type ScheduledRequest,
} from './scheduleStage.js'

interface Waiting<B> {
  state: ScheduledRequest<B>
  inputTokens: number
  next: ScheduleNext
  cancelled: boolean
}

const retryTickMs = 250

export function idleSlotStage<B>(
  scheduler: Scheduler<B>,
  roleWeights: RoleWeights,
  /** scheduler's interactive reserve (batch.interactive_reserve_window), read at each try. */
  reserveMs: () => number,
): ScheduleStage<B> {
  let waiting: Waiting<B>[] = []
  let tick: NodeJS.Timeout | undefined
  /** One try for one line; true when it got its slot (told to its waiter already) or was refused. */
  const tryOne = (entry: Waiting<B>, now: boolean): boolean => {
    const refusal = scheduler.unservable(entry.state.model!)
    if (refusal) {
      entry.state.ticket = undefined
      entry.next.refused(refusal, now)
      return true
    }
    const waiter = new RequestWaiter(entry.state, entry.next)
    waiter.admitting = now
    const ticket = scheduler.admitIdle(jobOf(entry.state, roleWeights, entry.inputTokens), waiter, reserveMs())
    return ticket !== undefined
  }
  const retry = (): void => {
    const left: Waiting<B>[] = []
    // One pass in order; a line for a model that found no slot is not overtaken by a later line of the same model.
    const blocked = new Set<string>()
    for (const entry of waiting) {
      if (entry.cancelled) continue
      const model = entry.state.model!
      if (blocked.has(model) || !tryOne(entry, false)) {
        blocked.add(model)
        left.push(entry)
      }
    }
    waiting = left
    armTick()
  }
  const armTick = (): void => {
    if (waiting.length === 0 || tick !== undefined) return
    tick = setTimeout(() => {
      tick = undefined
      retry()
    }, retryTickMs)
    tick.unref()
  }
  scheduler.onIdleSlot = () => {
    if (waiting.length > 0) retry()
  }
  return (state, inputTokens, next) => {
    const entry: Waiting<B> = { state, inputTokens, next, cancelled: false }
    if (tryOne(entry, true)) return
    waiting.push(entry)
    state.ticket = {
      cancel: () => {
        if (entry.cancelled || !waiting.includes(entry)) return false
        entry.cancelled = true
        waiting = waiting.filter((other) => other !== entry)
        return true
      },
    }
    armTick()
  }
}
