// Polls each backend on one interval: /api/version says whether it answers (for /ready, /discovery, the backend_up
// metric and the picker — before a user's request finds out), /api/tags and /api/ps what it has installed and loaded
// (its BackendInventory). One timer for all three: they are asked together, each backend's in parallel.
import type { Backend } from './backends.js'

/** How long one check may take, whatever the interval (a busy backend is slow, not down). */
const checkTimeoutMs = 2000

export class BackendHealth {
  private timer: NodeJS.Timeout | undefined
  /** Checks under way: the next tick (or a /ready waiting for a first answer) joins one instead of adding another. */
  private readonly checking = new Map<Backend, Promise<void>>()

  constructor(
    private readonly backends: () => Backend[],
    private intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks on the interval; the first check runs at the first tick, or sooner when someone asks (ensureChecked). */
  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** Whether a backend answered within three intervals. */
  anyUp(now = this.now()): boolean {
    return this.backends().some((backend) => this.isUp(backend, now))
  }

  isUp(backend: Backend, now = this.now()): boolean {
    return backend.lastError === undefined && now - backend.lastOkAt <= 3 * this.intervalMs
  }

  /** Runs a first check if none ran yet (a /ready asked right after start-up). */
  async ensureChecked(): Promise<void> {
    if (this.backends().every((backend) => backend.lastOkAt === 0 && backend.lastError === undefined)) {
      await this.checkAll()
    }
  }

  /** Called after each round of checks (the scheduler looks again at who may take the requests waiting). */
  afterCheck: (() => void) | undefined = undefined

  async checkAll(): Promise<void> {
    await Promise.all(this.backends().map((backend) => this.check(backend)))
    this.afterCheck?.()
  }

  private check(backend: Backend): Promise<void> {
    let running = this.checking.get(backend)
    if (!running) {
      running = Promise.all([this.askVersion(backend), this.askInventory(backend)]).then(
        () => {},
        () => {},
      )
      running = running.finally(() => this.checking.delete(backend))
      this.checking.set(backend, running)
    }
    return running
  }

  private async askVersion(backend: Backend): Promise<void> {
    try {
      await get(backend, '/api/version', false)
      backend.recordHealth(undefined, this.now())
    } catch (error) {
      backend.recordHealth((error as { code?: string }).code ?? (error as Error).message, this.now())
    }
  }

  /**
   * Reads one backend's inventory now (after the gateway pulled, copied or deleted a model there), so that the
   * admin view and the picker see the change without waiting for the next tick; then lets waiting requests look again.
   */
  async refreshInventory(backend: Backend): Promise<void> {
    await this.askInventory(backend).catch(() => {})
    this.afterCheck?.()
  }

  /** A failed or malformed answer leaves the inventory as it was (unknown counts as installed). */
  private async askInventory(backend: Backend): Promise<void> {
    const [tags, ps] = await Promise.allSettled([get(backend, '/api/tags', true), get(backend, '/api/ps', true)])
    if (tags.status === 'fulfilled') backend.inventory.updateInstalled(tags.value)
    if (ps.status === 'fulfilled') backend.inventory.updateLoaded(ps.value, this.now())
  }
}

/** Asks `path`: throws unless it answers 200; with `json`, its body parsed (else read and dropped). */
async function get(backend: Backend, path: string, json: boolean): Promise<unknown> {
  const response = await backend.pool.request({
    path,
    method: 'GET',
    headersTimeout: checkTimeoutMs,
    bodyTimeout: checkTimeoutMs,
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`status ${response.statusCode}`)
  }
  if (json) return response.body.json()
  await response.body.dump()
  return undefined
}
