// The response cache as the gateway runs it (cache.enabled): its tiers, its stage and finish consumer, purges the CLI
// wrote reaching the memory tier through the change feed, and the persistent tier's sweep of expired rows.
import type { Authenticator } from '../auth/authenticator.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import type { Backend } from '../proxy/backends.js'
import type { Store } from '../store/store.js'
import type { FinishConsumer } from '../usage/finish.js'
import { cacheStage, storeReply, type CacheStage, type StoredRequest } from './cacheStage.js'
import { ResponseCache } from './responseCache.js'

/** How often the persistent tier's expired rows are deleted. */
const sweepEveryMs = 60_000

export interface RunningCache {
  cache: ResponseCache
  stage: CacheStage
  store: FinishConsumer
  stop(): void
}

export interface CacheSetupDeps {
  store: Store
  config: () => Config['cache']
  backends: () => readonly Backend[]
  authenticator: Pick<Authenticator, 'changeListeners'>
  logger: Logger
  /** The clock entries expire by (ms since epoch). */
  now?: () => number
}

export function startResponseCache(settings: Config['cache'], deps: CacheSetupDeps): RunningCache | undefined {
  if (!settings.enabled) return undefined
  const persistent = settings.persist ? { store: deps.store.cache, maxBytes: settings.persist_max_bytes } : undefined
  const cache = new ResponseCache(settings.max_bytes, persistent, deps.now ?? Date.now)
  deps.authenticator.changeListeners.push((changes) => cache.onChanges(changes))
  let timer: NodeJS.Timeout | undefined
  if (persistent) {
    timer = setInterval(() => {
      try {
        cache.sweep()
      } catch (error) {
        // A locked or failing database: the rows stay until the next sweep (reads never return expired rows).
        deps.logger.warn('the response cache could not sweep expired entries', { err: error })
      }
    }, sweepEveryMs)
    timer.unref()
  }
  const save = storeReply({ cache, config: deps.config })
  return {
    cache,
    stage: cacheStage({ cache, backends: deps.backends, config: deps.config }),
    store: (result, state) => {
      try {
        save(result, state as unknown as StoredRequest)
      } catch (error) {
        // A failed store (the database locked) costs a later miss, never the request that already went out.
        deps.logger.warn('the response cache could not store a reply', { request_id: result.requestId, err: error })
      }
    },
    stop: () => clearInterval(timer),
  }
}
