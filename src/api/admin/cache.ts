// /admin/v1/cache: the response cache's numbers (view_usage) and purges (manage_models: what a model answers).
import { persistentCacheStats, purgeCache } from '../../admin/cache.js'
import type { ResponseCache } from '../../cache/responseCache.js'
import type { Store } from '../../store/store.js'
import type { JsonHandler } from '../jsonRoute.js'
import { onlyFields, queryFields, stringOf } from './bodyFields.js'

export interface CacheAdminContext {
  store: Store
  /** This server's cache (undefined: cache.enabled is off). */
  responseCache: ResponseCache | undefined
  /** Whether the persistent tier is on (cache.persist). */
  cachePersists: boolean
}

export function cacheHandlers(context: CacheAdminContext): Record<string, JsonHandler> {
  return {
    cache_stats: () => {
      const cache = context.responseCache
      return {
        status: 200,
        body: {
          enabled: cache !== undefined,
          memory: cache ? cache.stats() : null,
          persistent: cache && context.cachePersists ? persistentCacheStats(context.store) : null,
        },
      }
    },
    cache_purge: ({ request, trail }) => {
      const query = queryFields(request.query)
      onlyFields(query, ['model', 'user'])
      const purge = { model: stringOf(query, 'model'), user: stringOf(query, 'user') }
      return { status: 200, body: purgeCache(context.store, trail, purge, context.responseCache) }
    },
  }
}
