// Asks each backend for /api/version on an interval, so that /ready, /discovery and the backend_up metric say which
// backends answer — before a user's request finds out.
import type { Emit } from '../events/eventBus.js'
import type { Backend } from './backends.js'

/** How long one check may take, whatever the interval (a busy backend is slow, not down). */
const checkTimeoutMs = 2000

export class BackendHealth {
  private timer: NodeJS.Timeout | undefined
  /** Checks under way: the next tick (or a /ready waiting for a first answer) joins one instead of adding another. */
  private readonly checking = new Map<Backend, Promise<void>>()
  /** Each backend's last check (true: answered), for backend.down / backend.up on a change. */
  private readonly lastUp = new WeakMap<Backend, boolean>()

  constructor(
    private readonly backends: () => Backend[],
    private intervalMs: number,
    private readonly emit?: Emit,
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
  anyUp(now = Date.now()): boolean {
    return this.backends().some((backend) => this.isUp(backend, now))
  }

  isUp(backend: Backend, now = Date.now()): boolean {
    return backend.lastError === undefined && now - backend.lastOkAt <= 3 * this.intervalMs
  }

  /** Runs a first check if none ran yet (a /ready asked right after start-up). */
  async ensureChecked(): Promise<void> {
    if (this.backends().every((backend) => backend.lastOkAt === 0 && backend.lastError === undefined)) {
      await this.checkAll()
    }
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.backends().map((backend) => this.check(backend)))
  }

  private check(backend: Backend): Promise<void> {
    let running = this.checking.get(backend)
    if (!running) {
      running = this.ask(backend).finally(() => this.checking.delete(backend))
      this.checking.set(backend, running)
    }
    return running
  }

  private async ask(backend: Backend): Promise<void> {
    try {
      const response = await backend.pool.request({
        path: '/api/version',
        method: 'GET',
        headersTimeout: checkTimeoutMs,
        bodyTimeout: checkTimeoutMs,
      })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`)
      backend.lastOkAt = Date.now()
      backend.lastError = undefined
      // Up again after a failed check (a first check that answers announces nothing).
      if (this.lastUp.get(backend) === false) this.emit?.('backend.up', { backend: backend.name, url: backend.url })
      this.lastUp.set(backend, true)
    } catch (error) {
      backend.lastError = (error as { code?: string }).code ?? (error as Error).message
      if (this.lastUp.get(backend) !== false) {
        this.emit?.('backend.down', { backend: backend.name, url: backend.url, error: backend.lastError })
      }
      this.lastUp.set(backend, false)
    }
  }
}
