// The loaded plugins in config order, and the per-request view of them that the exchange calls at each chunk and at the
// end. No plugins means no chain at all (the hook points test one undefined field), so an empty config costs nothing.
import type { Logger } from '../logger.js'
import type { ExchangeResult } from '../proxy/exchange.js'
import type { ChunkInfo, Plugin } from './plugin.js'

export interface LoadedPlugin {
  name: string
  plugin: Plugin
  /** How long its onRequest may take (ms). */
  timeoutMs: number
}

/** Counted across reloads, for the metrics and /stats the gateway exposes. */
export interface PluginStats {
  /** onRequest hooks that threw, rejected or returned something invalid (each a 500 plugin_error). */
  failures: number
  /** onRequest hooks past their timeout (each a 500 plugin_error). */
  timeouts: number
  /** onResponseChunk and onEnd hooks that threw or rejected (logged; the request went on). */
  observerFailures: number
  refusals: number
  answers: number
  rewrites: number
}

export function emptyStats(): PluginStats {
  return { failures: 0, timeouts: 0, observerFailures: 0, refusals: 0, answers: 0, rewrites: 0 }
}

export class PluginChain {
  readonly requestHooks: LoadedPlugin[]
  private readonly chunkHooks: LoadedPlugin[]
  private readonly endHooks: LoadedPlugin[]

  constructor(
    readonly plugins: LoadedPlugin[],
    readonly logger: Logger,
    readonly stats: PluginStats,
  ) {
    this.requestHooks = plugins.filter((entry) => entry.plugin.onRequest !== undefined)
    this.chunkHooks = plugins.filter((entry) => entry.plugin.onResponseChunk !== undefined)
    this.endHooks = plugins.filter((entry) => entry.plugin.onEnd !== undefined)
  }

  /**
   * The result of a request that ended before the plugins stage (refused by the address guard, the credential, the
   * allow-list or the limits) to the onEnd hooks: they see every request, as a log or audit plugin needs.
   */
  endBefore(result: ExchangeResult): void {
    if (this.endHooks.length > 0) this.forRequest(result.requestId, result.api, result.route).end(result)
  }

  /** The view one request's exchange calls; made when the request reaches the plugin stage. */
  forRequest(requestId: string, api: string, route: string): RequestPlugins {
    return new RequestPlugins(
      this,
      { requestId, api, route, status: 0, contentType: '' },
      this.chunkHooks,
      this.endHooks,
    )
  }

  /** Logs and counts a hook's failure that does not fail its request (onResponseChunk, onEnd, close). */
  observerFailed(name: string, hook: string, requestId: string | undefined, error: unknown): void {
    this.stats.observerFailures++
    this.logger.error('plugin hook failed', { plugin: name, hook, request_id: requestId, err: error })
  }

  /** Lets every plugin free what it holds (the chain was replaced, or the gateway stops). */
  async close(): Promise<void> {
    for (const { name, plugin } of this.plugins) {
      try {
        await plugin.close?.()
      } catch (error) {
        this.observerFailed(name, 'close', undefined, error)
      }
    }
  }
}

/** One request's plugins as the exchange sees them: response headers to add, chunks to show, the end to report. */
export class RequestPlugins {
  /** Headers plugins add to the response, flat [name, value, ...] (set by the onRequest stage). */
  headers: string[] | undefined
  /** Set while a plugin's answer is being written: wakes the writer when its client leaves (it then finishes). */
  answering: (() => void) | undefined
  private ended = false

  constructor(
    private readonly chain: PluginChain,
    private readonly info: { -readonly [K in keyof ChunkInfo]: ChunkInfo[K] },
    private readonly chunkHooks: LoadedPlugin[],
    private readonly endHooks: LoadedPlugin[],
  ) {}

  /** The response head is known: what each chunk's info says. Returns the headers plugins add to it. */
  head(status: number, contentType: string): readonly string[] | undefined {
    this.info.status = status
    this.info.contentType = contentType
    return this.headers
  }

  /** A plugin's answer failed part way (its chunks threw): logged with the request id, counted as a failure. */
  answerFailed(error: unknown): void {
    this.chain.stats.failures++
    this.chain.logger.error('plugin answer failed', { request_id: this.info.requestId, err: error })
  }

  /** A chunk the client gets. A hook that throws is logged and counted; the chunk goes out anyway. */
  chunk(chunk: Buffer): void {
    for (const entry of this.chunkHooks) {
      try {
        entry.plugin.onResponseChunk!(chunk, this.info)
      } catch (error) {
        this.chain.observerFailed(entry.name, 'onResponseChunk', this.info.requestId, error)
      }
    }
  }

  /** The request ended (once): its result, with exact usage, to every onEnd. */
  end(result: ExchangeResult): void {
    if (this.ended) return
    this.ended = true
    for (const entry of this.endHooks) {
      try {
        const done: unknown = entry.plugin.onEnd!(result)
        if (done instanceof Promise) {
          done.then(undefined, (error: unknown) =>
            this.chain.observerFailed(entry.name, 'onEnd', result.requestId, error),
          )
        }
      } catch (error) {
        this.chain.observerFailed(entry.name, 'onEnd', result.requestId, error)
      }
    }
  }
}
