// The response cache's administration, shared by `parallama cache` and /admin/v1/cache: the persistent tier's numbers
// and purges by model and user. A purge is audited (cache.purge) with what it named and removed; written to the
// database, it reaches every running server's memory tier through the change feed (and the one that was asked, at
// once).
import { normalizeModel } from '../auth/modelAllowList.js'
import type { CacheTierStats } from '../store/cacheEntries.js'
import type { Store } from '../store/store.js'
import { auditedChange, type AuditTrail } from './auditTrail.js'
import { getUser } from './users.js'

export interface CachePurge {
  /** A model name (normalised as requests name it: `llama3` is `llama3:latest`). */
  model?: string
  /** A user name. */
  user?: string
}

export interface PurgeOutcome {
  model: string | null
  user: string | null
  /** Rows taken out of the database's tier. */
  persistent: number
  /** Entries taken out of this server's memory tier (null: asked from a process without one, the CLI). */
  memory: number | null
}

/** What a purge takes out of a server's memory (src/cache/responseCache.ts). */
export interface MemoryPurge {
  purgeMemory(filter: { model?: string; userId?: number }): number
}

export function purgeCache(
  store: Store,
  trail: AuditTrail,
  purge: CachePurge,
  memory: MemoryPurge | undefined,
  now = Date.now(),
): PurgeOutcome {
  const model = purge.model === undefined ? undefined : normalizeModel(purge.model)
  const target = `cache:${model ?? '*'}/${purge.user ?? '*'}`
  return auditedChange(store, trail, 'cache.purge', target, () => {
    const userId = purge.user === undefined ? undefined : getUser(store, purge.user).id
    const filter = { model, userId }
    const persistent = store.cache.purge(filter, now)
    const fromMemory = memory ? memory.purgeMemory(filter) : null
    const value: PurgeOutcome = {
      model: model ?? null,
      user: purge.user ?? null,
      persistent,
      memory: fromMemory,
    }
    return { value, after: { ...value } }
  })
}

export function persistentCacheStats(store: Store, now = Date.now()): CacheTierStats {
  return store.cache.stats(now)
}
