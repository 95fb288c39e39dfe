// Loads the plugins the config names, in order, and keeps the chain the gateway uses: built once at start-up (a module
// that fails to load stops start-up, naming it) and again on each reload (SIGHUP), where a failure keeps the running
// chain and logs why. Modules are ES modules, by absolute path or package name; their default export is a factory
// `(options, { logger }) => Plugin` (possibly async) or a Plugin object.
import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import { emptyStats, PluginChain, type LoadedPlugin, type PluginStats } from './chain.js'
import type { Plugin, PluginContext, PluginFactory } from './plugin.js'

export type PluginConfig = Config['plugins'][number]

export class PluginLoadError extends Error {
  readonly code = 'plugin_load_failed'
}

/** Each load imports file modules afresh (a changed file is read again on reload). */
let generation = 0

/** The chain for `configs`; undefined when there are none (the request path then skips every hook point). */
export async function loadChain(
  configs: readonly PluginConfig[],
  logger: Logger,
  stats: PluginStats,
): Promise<PluginChain | undefined> {
  if (configs.length === 0) return undefined
  generation++
  const loaded: LoadedPlugin[] = []
  try {
    for (const config of configs) loaded.push(await loadOne(config, logger))
  } catch (error) {
    // Those already made are not used: let them go.
    await new PluginChain(loaded, logger, stats).close()
    throw error
  }
  return new PluginChain(loaded, logger, stats)
}

async function loadOne(config: PluginConfig, logger: Logger): Promise<LoadedPlugin> {
  const { module, options, timeout } = config
  const specifier = isAbsolute(module) ? `${pathToFileURL(module).href}?load=${generation}` : module
  let namespace: { default?: unknown }
  try {
    namespace = (await import(specifier)) as { default?: unknown }
  } catch (error) {
    throw new PluginLoadError(`plugin ${module}: cannot import it: ${(error as Error).message}`, { cause: error })
  }
  const exported = namespace.default
  const name = module
  const context: PluginContext = { logger: pluginLogger(logger, name) }
  let plugin: unknown
  try {
    plugin = typeof exported === 'function' ? await (exported as PluginFactory)(options, context) : exported
  } catch (error) {
    throw new PluginLoadError(`plugin ${module}: its factory failed: ${(error as Error).message}`, { cause: error })
  }
  const problem = shapeProblem(plugin)
  if (problem) throw new PluginLoadError(`plugin ${module}: ${problem}`)
  const checked = plugin as Plugin
  const named = typeof checked.name === 'string' && checked.name !== '' ? checked.name : name
  return { name: named, plugin: checked, timeoutMs: timeout }
}

/** Why a default export is no plugin, or undefined. */
function shapeProblem(plugin: unknown): string | undefined {
  if (!plugin || typeof plugin !== 'object') {
    return 'the default export must be a plugin object or a factory returning one'
  }
  for (const hook of ['onRequest', 'onResponseChunk', 'onEnd', 'close'] as const) {
    const value = (plugin as Record<string, unknown>)[hook]
    if (value !== undefined && typeof value !== 'function') return `${hook} must be a function`
  }
  return undefined
}

function pluginLogger(logger: Logger, plugin: string): PluginContext['logger'] {
  return {
    debug: (message, fields) => logger.debug(message, { plugin, ...fields }),
    info: (message, fields) => logger.info(message, { plugin, ...fields }),
    warn: (message, fields) => logger.warn(message, { plugin, ...fields }),
    error: (message, fields) => logger.error(message, { plugin, ...fields }),
  }
}

/**
 * The gateway's plugins: `chain` is what new requests use (requests in flight keep the chain they started with).
 * `reloaded` settles when the last reload is in place or refused.
 */
export class PluginHost {
  chain: PluginChain | undefined
  readonly stats: PluginStats = emptyStats()
  reloaded: Promise<boolean> = Promise.resolve(true)
  /** Replaced chains not closed yet: requests that started on them may still be streaming. */
  private readonly retired = new Map<PluginChain, NodeJS.Timeout>()

  private constructor(private readonly logger: Logger) {}

  /** At start-up: a plugin that fails to load throws (start-up stops with its message). */
  static async start(configs: readonly PluginConfig[], logger: Logger): Promise<PluginHost> {
    const host = new PluginHost(logger)
    host.chain = await loadChain(configs, logger, host.stats)
    if (host.chain) logger.info('plugins loaded', { plugins: host.chain.plugins.map((entry) => entry.name) })
    return host
  }

  /**
   * On reload: the new chain replaces the old once all of it loaded; else the old one stays and the log says why. The
   * old one is closed after `graceMs` (the drain timeout), when the requests that started on it have ended.
   */
  reload(configs: readonly PluginConfig[], graceMs = 0): Promise<boolean> {
    this.reloaded = loadChain(configs, this.logger, this.stats).then(
      (chain) => {
        const old = this.chain
        this.chain = chain
        this.logger.info('plugins reloaded', { plugins: chain?.plugins.map((entry) => entry.name) ?? [] })
        if (old) this.retire(old, graceMs)
        return true
      },
      (error: unknown) => {
        this.logger.error('plugin reload failed; the running plugins stay', { err: (error as Error).message })
        return false
      },
    )
    return this.reloaded
  }

  private retire(chain: PluginChain, graceMs: number): void {
    const timer = setTimeout(() => {
      this.retired.delete(chain)
      void chain.close()
    }, graceMs)
    timer.unref()
    this.retired.set(chain, timer)
  }

  /** The gateway stops (after its drain): every chain is closed now. */
  async close(): Promise<void> {
    for (const [chain, timer] of this.retired) {
      clearTimeout(timer)
      await chain.close()
    }
    this.retired.clear()
    await this.chain?.close()
  }
}
