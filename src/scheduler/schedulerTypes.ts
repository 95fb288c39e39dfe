// The scheduler's vocabulary: what it asks of the backends (a view the proxy room supplies, so this room never imports
// it), what a request hands in, and what it gets back. The scheduler itself is in scheduler.ts.
import type { GatewayError } from '../errors.js'

/** What the scheduler reads about a backend `B` (the proxy's own type; the scheduler only compares identities). */
export interface BackendView<B> {
  /** Requests per model the backend runs at once (`backends[].parallel`, its OLLAMA_NUM_PARALLEL): ≥ 1. */
  parallel(backend: B): number
  /** Healthy and not ejected: it may take a request now. */
  usable(backend: B, now: number): boolean
  /** The model is in the backend's memory (`/api/ps`, or the gateway's own recent dispatch). */
  loaded(backend: B, model: string): boolean
  /** The backend has the model (`/api/tags`); a backend whose inventory is not known yet counts as having it. */
  installed(backend: B, model: string): boolean
  /** How many models the backend has in memory. */
  loadedCount(backend: B): number
  /**
   * An admin drained it: it takes no new request, whatever frees up, until undrained. A request only such backends
   * could serve is refused at once (no_backend) rather than left to time out. Absent: none ever drains.
   */
  draining?(backend: B): boolean
}

/** `fair`: virtual token counters per user (VTC); `fifo`: first come, first served across users. */
export type SchedulingPolicy = 'fair' | 'fifo'

/** One request asking for a slot. */
export interface JobRequest<B> {
  /** Whose counter it charges (a stable user id or name). */
  readonly user: string
  /** The user's share under contention (user weight × role weight): finite and > 0. Weight 2 gets twice weight 1. */
  readonly weight: number
  readonly model: string
  /** The prompt's size as estimated by the caller, charged when the request is dispatched: finite and ≥ 0. */
  readonly inputTokens: number
  /** Backends not to use: those a failed attempt at this request already went to. */
  readonly exclude?: readonly B[]
}

/** The slot a request was given. */
export interface Grant<B> {
  readonly backend: B
  /** How long it waited in the queue (0 when a slot was free at once). */
  readonly queuedMs: number
  /** Charges output tokens to the user's counter: as they stream, or all at the end (also after release). */
  chargeOutput(tokens: number): void
  /** Frees the slot (the response ended or was aborted) and dispatches whoever is next. A second call does nothing. */
  release(): void
}

/** A request's place in line. */
export interface Ticket {
  /**
   * The client went away: leaves the queue at once and is never dispatched (no callback). True when it was waiting;
   * false when it had already been granted (release the grant instead) or refused.
   */
  cancel(): boolean
}

/**
 * Told exactly once how a request ends, unless it is cancelled while waiting. A request's own state object can be its
 * waiter, so admitting allocates no closures.
 */
export interface Waiter<B> {
  onReady(grant: Grant<B>): void
  /** `queue_full`, `queue_timeout`, `model_not_found`, `no_backend`, or the error given to refuseWaiting. */
  onRefused(error: GatewayError): void
}

/** Timers, injectable so tests drive time themselves. */
export interface SchedulerTimers {
  set(callback: () => void, ms: number): unknown
  clear(handle: unknown): void
}

/** The settings a reload may change. */
export interface SchedulerSettings {
  policy: SchedulingPolicy
  /** Requests that may wait at once, over all models (`scheduler.max_queue`); beyond it: `queue_full`. */
  maxQueue: number
  /** How long a request may wait (`scheduler.max_wait`); beyond it: `queue_timeout`. */
  maxWaitMs: number
}

export interface SchedulerOptions<B> extends SchedulerSettings {
  view: BackendView<B>
  backends: readonly B[]
  /** Milliseconds, monotonic (performance.now in production). */
  now: () => number
  /** Default: setTimeout / clearTimeout, unref'd (a waiting request holds its own connection open). */
  timers?: SchedulerTimers
  /** Every grant's wait, for the queue-wait histogram (0 for a request that found a free slot). */
  onWaited?: (ms: number, model: string) => void
}

/** Requests of one user for one model, in the admin view. */
export interface UserQueueSnapshot {
  user: string
  waiting: number
  running: number
}

/** One model's queue in the admin view (`GET /admin/v1/queue`). */
export interface ModelQueueSnapshot {
  model: string
  waiting: number
  running: number
  /** How long the oldest waiting request has waited; null when none waits. */
  oldestWaitMs: number | null
  users: UserQueueSnapshot[]
}
