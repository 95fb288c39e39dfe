// The response cache's storage and its numbers: the memory tier first, then (cache.persist) the database's, whose
// hits are brought back into memory. Purges reach both; a purge the CLI wrote into the database reaches the running
// server's memory through the change feed (onChanges).
import type { CacheEntryStore, CacheRow } from '../store/cacheEntries.js'
import type { Change } from '../store/changeFeed.js'
import type { CacheEntry, Hole, PurgeFilter } from './cacheEntry.js'
import type { BypassReason } from './cachePolicy.js'
import { MemoryTier } from './memoryTier.js'

export interface CacheCounts {
  hits: number
  misses: number
  /** Replies stored (a miss whose reply completed and fit). */
  stores: number
  bypasses: Partial<Record<BypassReason, number>>
  evictions: number
  entries: number
  bytes: number
}

export interface PersistentTier {
  store: CacheEntryStore
  maxBytes: number
}

export class ResponseCache {
  private readonly memory: MemoryTier
  readonly counts: Omit<CacheCounts, 'evictions' | 'entries' | 'bytes'> = {
    hits: 0,
    misses: 0,
    stores: 0,
    bypasses: {},
  }

  constructor(
    maxBytes: number,
    private readonly persistent: PersistentTier | undefined,
    /** The clock entries expire by (ms since epoch); injected so that tests move time. */
    readonly now: () => number,
  ) {
    this.memory = new MemoryTier(maxBytes)
  }

  /** The live entry under `key`: memory, else the persistent tier (then kept in memory too). */
  lookup(key: string): CacheEntry | undefined {
    const now = this.now()
    const inMemory = this.memory.get(key, now)
    if (inMemory || !this.persistent) return inMemory
    const row = this.persistent.store.get(key, now)
    if (!row) return undefined
    const entry = entryOf(row)
    this.memory.set(entry)
    return entry
  }

  save(entry: CacheEntry): void {
    this.counts.stores++
    this.memory.set(entry)
    this.persistent?.store.put(rowOf(entry), this.persistent.maxBytes)
  }

  countBypass(reason: BypassReason): void {
    this.counts.bypasses[reason] = (this.counts.bypasses[reason] ?? 0) + 1
  }

  /**
   * Takes matching entries out of the memory tier; returns how many. The persistent tier is purged through the store
   * (src/admin/cache.ts), whose change-feed row brings the same purge to every other running server.
   */
  purgeMemory(filter: PurgeFilter): number {
    return this.memory.purge(filter)
  }

  /** Change-feed rows: a purge written by another process (the CLI) is applied to the memory tier. */
  onChanges(changes: readonly Change[]): void {
    for (const change of changes) {
      if (change.kind !== 'cache_purged') continue
      const detail = change.detail ? (JSON.parse(change.detail) as { model?: string | null }) : {}
      const filter: PurgeFilter = {}
      if (typeof detail.model === 'string') filter.model = detail.model
      if (change.userId !== null) filter.userId = change.userId
      this.memory.purge(filter)
    }
  }

  /** Deletes the persistent tier's expired rows (the memory tier drops its own as they are read or pushed out). */
  sweep(): number {
    return this.persistent?.store.sweep(this.now()) ?? 0
  }

  stats(): CacheCounts {
    return { ...this.counts, evictions: this.memory.evictions, entries: this.memory.size, bytes: this.memory.bytes }
  }

  /** The persistent tier's own numbers (undefined without one). */
  persistentStats(): { entries: number; bytes: number; expired: number } | undefined {
    return this.persistent?.store.stats(this.now())
  }
}

function rowOf(entry: CacheEntry): CacheRow {
  return {
    key: entry.key,
    route: entry.route,
    model: entry.model,
    userId: entry.userId,
    contentType: entry.contentType,
    body: entry.body,
    holes: JSON.stringify(entry.holes),
    storedAt: entry.storedAt,
    expiresAt: entry.expiresAt,
  }
}

function entryOf(row: CacheRow): CacheEntry {
  return { ...row, holes: JSON.parse(row.holes) as Hole[] }
}
