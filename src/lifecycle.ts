// The gateway's lifecycle once its rooms are built: reload (a new config applied live, the keys the schema marks
// `restart` reported) and shutdown — one ordered list of steps, the same after a failed listen as on a normal close,
// each step run once and skipping what never started.
import { setTimeout as sleep } from 'node:timers/promises'
import { changedRestartKeys } from './config/restartKeys.js'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import type { ModelAliases } from './models/aliases.js'
import { closeBackends, createBackends, type Backend, type BackendContext } from './proxy/backends.js'

/** What a lifecycle stops: the rooms the gateway built. Those started later (listening, backups) are set once they are. */
export interface Running {
  logger: Logger
  config: { current: Config }
  backends: Backend[]
  /** What the backends share (ejection settings, events): new backends after a reload get it too. */
  backendContext: BackendContext
  aliases: ModelAliases
  /** Requests being proxied: each can be ended early (past the drain timeout). */
  inFlight: ReadonlySet<{ shutdown(): void }>
  /**
   * Requests admitted but not forwarded yet, waiting on a stage before (the plugins' onRequest, bounded by their
   * timeout): the drain waits for them as for those in flight, and past its deadline refuses them (shutting_down).
   */
  waiting: ReadonlySet<{ shutdown(): void }>
  reprice(usage: Config['usage']): void
  stopListening?: () => void
  closeApp?: () => void
  /** Where the gateway listens: a reload re-reads the TLS certificate and key (server.tls). */
  listener?: { reload(server: Config['server']): void }
  backups?: NodeJS.Timeout
  /** The response cache's sweep of expired persistent entries. */
  cache?: { stop(): void }
  health?: { stop(): void }
  /** The gateway's queue: a reload gives it the new settings and backends (it keeps who waits). */
  scheduler?: { reload(next: Config): void }
  metrics?: { close(): void }
  accounting?: { close(): Promise<void> }
  authenticator?: { stop(): void }
  events?: { reload(next: Config): void; close(): Promise<void> }
  /** Audit rows that waited for a locked database (src/events/auditQueue.ts): written, waiting, at shutdown. */
  audit?: { flush(wait: boolean): void }
  /** The plugin chain: reloaded (a chain that fails to load keeps the running one), closed after the drain. */
  plugins?: {
    reload(configs: Config['plugins'], graceMs: number): Promise<boolean>
    close(): Promise<void>
  }
  /** The Batch API's runner (src/batch/batchRunner.ts). */
  batches?: { stop(): void }
  unmark?: () => void
  store?: { close(): void }
}

export interface ShutdownStep {
  name: string
  run(running: Running, lifecycle: Lifecycle, drainMs: number): void | Promise<void>
}

/** Shutdown, in order: stop taking requests, let those in flight end, then stop each room, the database last. */
export const shutdownSteps: readonly ShutdownStep[] = [
  { name: 'stop listening', run: (running) => running.stopListening?.() },
  // No new batch line starts; those running drain with the other requests (the rest resume after the restart).
  { name: 'stop batches', run: (running) => running.batches?.stop() },
  { name: 'drain requests', run: (running, lifecycle, drainMs) => lifecycle.drain(drainMs) },
  { name: 'stop backups', run: (running) => clearInterval(running.backups) },
  { name: 'stop the cache sweep', run: (running) => running.cache?.stop() },
  { name: 'stop health checks', run: (running) => running.health?.stop() },
  { name: 'close metrics', run: (running) => running.metrics?.close() },
  { name: 'close the server', run: (running) => running.closeApp?.() },
  { name: 'close backend pools', run: (running) => closeBackends(running.backends) },
  { name: 'close plugins', run: (running) => running.plugins?.close() },
  { name: 'flush usage', run: (running) => running.accounting?.close() },
  { name: 'stop credentials', run: (running) => running.authenticator?.stop() },
  { name: 'flush audit rows', run: (running) => running.audit?.flush(true) },
  { name: 'flush events', run: (running) => running.events?.close() },
  { name: 'remove the server mark', run: (running) => running.unmark?.() },
  { name: 'close the database', run: (running) => running.store?.close() },
]

export class Lifecycle {
  /** Set while shutting down: new requests are refused (503 shutting_down) so that the drain can end. */
  draining = false
  private closing: Promise<void> | undefined

  constructor(
    readonly running: Running,
    /** Called with each step's name as it runs (for the logs and tests). */
    private readonly onStep: (name: string) => void = () => {},
  ) {}

  /**
   * Applies a new config without dropping a connection: backends, timeouts, request limits, log level, aliases,
   * prices, events and plugins. Returns the changed keys that need a restart (the schema's `restart` marks).
   */
  reload(next: Config): string[] {
    const { running } = this
    const restart = changedRestartKeys(running.config.current, next)
    // The pools carry the connect timeout too (createBackends): a change of either gets new pools.
    if (poolSettings(next) !== poolSettings(running.config.current)) {
      const old = running.backends
      running.backends = createBackends(next, running.backendContext)
      keepDrains(old, running.backends)
      // Requests on the old pools finish there; the pools close once they are done.
      void closeBackends(old)
    }
    running.config.current = next
    running.listener?.reload(next.server)
    running.scheduler?.reload(next)
    running.aliases.replace(next.models.aliases)
    running.reprice(next.usage)
    running.events?.reload(next)
    // Files are imported afresh; the replaced chain closes after the drain timeout (requests on it may still stream).
    void running.plugins?.reload(next.plugins, next.server.drain_timeout)
    running.logger.level = next.log.level
    return restart
  }

  /** Runs the shutdown steps once, in order (a second call waits for the first). */
  close(drainMs = this.running.config.current.server.drain_timeout): Promise<void> {
    this.closing ??= this.runSteps(drainMs)
    return this.closing
  }

  private async runSteps(drainMs: number): Promise<void> {
    for (const step of shutdownSteps) {
      this.onStep(step.name)
      await step.run(this.running, this, drainMs)
    }
  }

  /** Refuses new requests, lets those in flight end within `drainMs`, then ends the rest. */
  async drain(drainMs: number): Promise<void> {
    this.draining = true
    const { inFlight, waiting, logger } = this.running
    const done = () => inFlight.size === 0 && waiting.size === 0
    await waitFor(done, drainMs)
    if (done()) return
    logger.warn('ending requests still running after the drain timeout', { requests: inFlight.size + waiting.size })
    for (const request of [...waiting, ...inFlight]) request.shutdown()
    await waitFor(done, 2000)
  }
}

/**
 * An admin's drain outlives a reload that rebuilds the backends: a backend of the same name and URL is the same Ollama
 * (as the scheduler sees it), and a reload is no decision to put it back in service. A renamed or moved one starts
 * undrained.
 */
function keepDrains(old: readonly Backend[], next: readonly Backend[]): void {
  for (const backend of next) {
    backend.draining = old.some((was) => was.draining && was.name === backend.name && was.url === backend.url)
  }
}

/** What a backend's pool is built from that a reload may change (upstream.* is marked restart). */
function poolSettings(config: Config): string {
  return JSON.stringify([config.backends, config.timeouts.connect])
}

/** Resolves when `done()` holds, or after `ms`. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await sleep(Math.min(50, Math.max(1, deadline - Date.now())))
}
