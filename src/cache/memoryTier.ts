// The in-memory tier: an LRU bounded by bytes (cache.max_bytes). Expiry is checked against the injected clock on
// read (an expired entry is dropped then), so tests move time instead of sleeping; evictions by size are counted.
import { LRUCache } from 'lru-cache'
import { entrySize, matchesPurge, type CacheEntry, type PurgeFilter } from './cacheEntry.js'

export class MemoryTier {
  private readonly entries: LRUCache<string, CacheEntry>
  /** Entries pushed out to make room (not expired, not purged). */
  evictions = 0

  constructor(maxBytes: number) {
    this.entries = new LRUCache<string, CacheEntry>({
      maxSize: maxBytes,
      sizeCalculation: entrySize,
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.evictions++
      },
    })
  }

  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > now) return entry
    this.entries.delete(key)
    return undefined
  }

  /** Stores an entry (one larger than the whole tier is not kept: lru-cache refuses it). */
  set(entry: CacheEntry): void {
    this.entries.set(entry.key, entry)
  }

  purge(filter: PurgeFilter): number {
    let removed = 0
    for (const [key, entry] of this.entries.entries()) {
      if (!matchesPurge(entry, filter)) continue
      this.entries.delete(key)
      removed++
    }
    return removed
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.entries.calculatedSize
  }
}
