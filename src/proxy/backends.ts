// The Ollama servers behind the gateway: each with a pool of keep-alive connections, what it has (installed and
// loaded models), whether it takes traffic (health checks and outlier ejection), and the choice of which one serves
// a request.
import { Pool } from 'undici'
import type { BackendConfig, Config } from '../config/schema.js'
import type { Emit } from '../events/eventBus.js'
import { BackendInventory } from './backendInventory.js'
import { OutlierEjection, type EjectionSettings } from './outlierEjection.js'
import type { RetryReason } from './retryPolicy.js'
import type { BackendView } from '../scheduler/schedulerTypes.js'

/** What every backend shares: the ejection settings as they are now (they reload), and where events go. */
export interface BackendContext {
  upstream: () => EjectionSettings
  /** Set once the event bus runs: backend.down / backend.up. */
  emit?: Emit
}

export class Backend {
  readonly name: string
  readonly url: string
  readonly weight: number
  /** Requests per loaded model the backend runs at once (its OLLAMA_NUM_PARALLEL). */
  readonly parallel: number
  /** Requests sent and not yet finished. */
  outstanding = 0
  /**
   * Set by an admin (POST /admin/v1/backends/{name}/drain): no new request goes here, those running finish. Kept by
   * a reload for a backend of the same name and URL (lifecycle.ts); forgotten on restart (it is not configuration).
   */
  draining = false
  /** Date.now() of the last health check it answered (0: none yet), and why the last one failed. */
  lastOkAt = 0
  lastError: string | undefined = undefined
  readonly inventory = new BackendInventory()
  readonly ejection: OutlierEjection
  /** Requests that failed here and were sent to another backend, by why (parallama_upstream_retries_total). */
  readonly retries = new Map<RetryReason, number>()
  /** What backend.down / backend.up last said (nothing said yet: up), so each change is announced once. */
  private announcedUp = true
  /** The last request failure, for the backend.down event of an ejection. */
  private lastFailure = ''

  constructor(
    settings: Pick<BackendConfig, 'name' | 'url' | 'weight' | 'parallel'>,
    readonly pool: Pool,
    private readonly context: BackendContext,
  ) {
    this.name = settings.name
    this.url = settings.url
    this.weight = settings.weight
    this.parallel = settings.parallel
    this.ejection = new OutlierEjection(context.upstream)
  }

  /**
   * Whether a request may go to it now: its last health check did not fail (none yet counts as fine), and it is not
   * ejected — half-open after the cooldown, it takes one request at a time (the probe).
   */
  usable(now: number): boolean {
    if (this.lastError !== undefined) return false
    if (!this.ejection.out) return true
    return this.ejection.halfOpen(now) && this.outstanding === 0
  }

  /** `model` in normal form (normalizeModel), like every model name below. */
  loaded(model: string, now?: number): boolean {
    return this.inventory.loaded(model, now)
  }

  /** True too while its models are not known yet (before its first /api/tags). */
  installed(model: string): boolean {
    return this.inventory.installed(model)
  }

  get loadedCount(): number {
    return this.inventory.loadedCount
  }

  /** A request is being sent to it for `model` (null: none): Ollama loads that model to answer. */
  dispatched(model: string | null): void {
    this.outstanding++
    if (model !== null) this.inventory.markLoaded(model)
  }

  /** A request failed here (`error`: why, for the event): counts toward ejection. */
  recordFailure(error: string, now: number): void {
    this.lastFailure = error
    this.ejection.recordFailure(now)
    this.announce()
  }

  /** A request got an answer (a status below 500): the failure count starts again, an ejection ends. */
  recordSuccess(): void {
    if (this.ejection.consecutiveFailures === 0 && !this.ejection.out) return
    this.ejection.recordSuccess()
    this.announce()
  }

  /** A health check's verdict: undefined when it answered (at `now`), else why not. */
  recordHealth(error: string | undefined, now: number): void {
    if (error === undefined) this.lastOkAt = now
    this.lastError = error
    this.announce()
  }

  countRetry(reason: RetryReason): void {
    this.retries.set(reason, (this.retries.get(reason) ?? 0) + 1)
  }

  /** Announces a change of up (health check passing, not ejected) once, whichever of the two changed it. */
  private announce(): void {
    const up = this.lastError === undefined && !this.ejection.out
    if (up === this.announcedUp) return
    this.announcedUp = up
    if (up) return this.context.emit?.('backend.up', { backend: this.name, url: this.url })
    const error =
      this.lastError ??
      `ejected after ${this.ejection.consecutiveFailures} consecutive failures (last: ${this.lastFailure}) for ${this.ejection.cooldownMs} ms`
    this.context.emit?.('backend.down', { backend: this.name, url: this.url, error })
  }
}

export function createBackends(config: Config, context: BackendContext): Backend[] {
  return config.backends.map(
    (backend) =>
      new Backend(
        backend,
        new Pool(backend.url, {
          connections: config.upstream.connections,
          keepAliveTimeout: config.upstream.keep_alive_timeout,
          keepAliveMaxTimeout: config.upstream.keep_alive_timeout,
          connect: { timeout: config.timeouts.connect },
          // Per-request timeouts are set on each dispatch; these are the pool's fallbacks.
          headersTimeout: config.timeouts.first_byte,
          bodyTimeout: config.timeouts.idle,
          pipelining: 1,
        }),
        context,
      ),
  )
}

export async function closeBackends(backends: Backend[]): Promise<void> {
  await Promise.all(backends.map((backend) => backend.pool.close()))
}

/**
 * What the scheduler reads of the backends in `list` (src/scheduler/schedulerTypes.ts): slots, health, what each has.
 * While every backend is down or ejected, all count as usable: waiting minutes for one to come back would hold every
 * client, so requests go on and fail fast with the backend's error (or are the probe that brings it back), as the
 * picker does for the routes that are not scheduled.
 */
export function backendView(list: () => readonly Backend[]): BackendView<Backend> {
  return {
    parallel: (backend) => backend.parallel,
    // The scheduler's clock is monotonic; health and ejection keep wall-clock times. A drained backend is out of the
    // fallback too: an admin took it out on purpose, and it stays out whatever happens to the others.
    usable: (backend) => {
      if (backend.draining) return false
      const now = Date.now()
      return backend.usable(now) || !list().some((other) => !other.draining && other.usable(now))
    },
    draining: (backend) => backend.draining,
    loaded: (backend, model) => backend.loaded(model),
    installed: (backend, model) => backend.installed(model),
    loadedCount: (backend) => backend.loadedCount,
  }
}
