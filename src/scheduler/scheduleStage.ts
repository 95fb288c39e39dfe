// Stage 7, schedule: an inference request waits in the gateway until a backend that can serve its model has a free slot
// (scheduler.ts decides who goes next: fair per user, or fifo), so Ollama only ever gets what it can run. Metadata
// routes never come here. The request's state holds its place in line (cancelled when the client leaves) and then its
// slot (released by finish, charged with the output tokens it made).
import type { GatewayError } from '../errors.js'
import type { Scheduler } from './scheduler.js'
import type { Grant, JobRequest, Ticket, Waiter } from './schedulerTypes.js'

/** Who asks, as the credential said (undefined on a gateway without credentials: one shared user). */
export interface SchedulingCaller {
  readonly username: string
  readonly role: string
  /** The user's own weight (`parallama user set-weight`). */
  readonly weight?: number
}

/** The part of a request's state the schedule stage reads and fills in. */
export interface ScheduledRequest<B> {
  readonly principal: SchedulingCaller | undefined
  readonly model: string | null
  /** The request has ended (finish ran): a slot granted now is given back at once. */
  readonly ended: boolean
  /** Its place in line while it waits (cancel it when the client leaves). */
  ticket: Ticket | undefined
  /** The slot it holds, from the grant until finish releases it. */
  grant: Grant<B> | undefined
  /** It went through the queue (every scheduled request), and how long it waited for its slot (0: one was free). */
  queued: boolean
  queueMs: number
}

/** How the composition goes on: `ready` with the slot in `state.grant`, or `refused`; `now`: before admit returned. */
export interface ScheduleNext {
  ready(now: boolean): void
  refused(error: GatewayError, now: boolean): void
}

export type ScheduleStage<B> = (state: ScheduledRequest<B>, inputTokens: number, next: ScheduleNext) => void

/** What the stage reads of the running config: the weight of each role (scheduler.weights). */
export type RoleWeights = () => Readonly<Record<string, number>>

export function scheduleStage<B>(scheduler: Scheduler<B>, roleWeights: RoleWeights): ScheduleStage<B> {
  return (state, inputTokens, next) => {
    const waiter = new RequestWaiter(state, next)
    const ticket = scheduler.admit(jobOf(state, roleWeights, inputTokens), waiter)
    waiter.admitting = false
    if (!waiter.settled) state.ticket = ticket
  }
}

/**
 * A failover before the first byte: a slot on another backend (not one of `tried`), taken only if one is free now —
 * the request already waited its turn; when none is, it does not fail over. The old slot is given back either way.
 */
export function moveSlot<B>(
  scheduler: Scheduler<B>,
  roleWeights: RoleWeights,
  state: ScheduledRequest<B>,
  tried: readonly B[],
): B | undefined {
  const old = state.grant
  let moved: Grant<B> | undefined
  const ticket = scheduler.admit(jobOf(state, roleWeights, 0, tried), {
    onReady: (grant) => (moved = grant),
    onRefused: () => {},
  })
  if (!moved) ticket.cancel()
  else state.grant = moved
  old?.release()
  return moved?.backend
}

/**
 * A failover before any answer when no slot elsewhere is free (moveSlot found none): the request waits in the queue
 * again for a slot on a backend not in `tried`, rather than being answered an error no backend caused (it never
 * started). `go` is called once, from a turn of its own: with the backend (its slot in `state.grant`), or undefined
 * when refused (no other backend has the model, max_wait, the queue full). Returns how to leave the line (the exchange
 * ended meanwhile); undefined for a request that holds no slot (not scheduled).
 */
export function waitSlot<B>(
  scheduler: Scheduler<B>,
  roleWeights: RoleWeights,
  state: ScheduledRequest<B>,
  tried: readonly B[],
  go: (backend: B | undefined) => void,
): (() => void) | undefined {
  const old = state.grant
  if (old === undefined) return undefined
  let settled = false
  const ticket = scheduler.admit(jobOf(state, roleWeights, 0, tried), {
    onReady: (grant) => {
      settled = true
      // Ended while the grant was on its way: nobody will use the slot.
      if (state.ended) return grant.release()
      state.grant = grant
      setImmediate(() => go(grant.backend))
    },
    onRefused: () => {
      settled = true
      setImmediate(() => go(undefined))
    },
  })
  old.release()
  return () => {
    if (!settled) ticket.cancel()
  }
}

/** The scheduler's job for a request: its user, weight (role × user), model, prompt estimate, backends to avoid. */
export function jobOf<B>(
  state: ScheduledRequest<B>,
  roleWeights: RoleWeights,
  inputTokens: number,
  exclude?: readonly B[],
): JobRequest<B> {
  const user = state.principal?.username ?? ''
  return { user, weight: weightOf(state.principal, roleWeights()), model: state.model!, inputTokens, exclude }
}

function weightOf(caller: SchedulingCaller | undefined, roles: Readonly<Record<string, number>>): number {
  if (!caller) return 1
  return (caller.weight ?? 1) * (roles[caller.role] ?? 1)
}

/** Hears how the request's wait ends; told whether that happened while admit was still running. */
export class RequestWaiter<B> implements Waiter<B> {
  admitting = true
  settled = false

  constructor(
    private readonly state: ScheduledRequest<B>,
    private readonly next: ScheduleNext,
  ) {}

  onReady(grant: Grant<B>): void {
    const { state } = this
    this.settled = true
    state.ticket = undefined
    // Its client left while the grant was on its way (cancel came too late): nobody will use the slot.
    if (state.ended) return grant.release()
    state.grant = grant
    state.queued = true
    state.queueMs = grant.queuedMs
    this.next.ready(this.admitting)
  }

  onRefused(error: GatewayError): void {
    this.settled = true
    this.state.ticket = undefined
    if (!this.state.ended) this.next.refused(error, this.admitting)
  }
}
