// One stored reply: the upstream's bytes as they came (before the route's tap, which the replay runs again for the
// caller, so the framing — the usage chunk, an alias — is the caller's own), and what the tiers and purges need.

/** A place in the body whose value a replay makes fresh: an OpenAI reply's `id` and `created` are per reply. */
export interface Hole {
  start: number
  end: number
  kind: 'id' | 'created'
}

export interface CacheEntry {
  key: string
  /** `<api>.<name>`. */
  route: string
  model: string
  /** The user whose request stored it (null: a request without one). */
  userId: number | null
  contentType: string
  body: Buffer
  holes: readonly Hole[]
  /** ms since epoch. */
  storedAt: number
  expiresAt: number
}

/** What an entry weighs in the memory tier: its bytes and a fixed allowance for the object and its strings. */
export function entrySize(entry: CacheEntry): number {
  return entry.body.length + entry.contentType.length + entry.model.length + 256
}

/** What a purge takes out: entries of a model, of a user, both, or (neither) all. */
export interface PurgeFilter {
  model?: string
  userId?: number
}

export function matchesPurge(entry: Pick<CacheEntry, 'model' | 'userId'>, filter: PurgeFilter): boolean {
  return (
    (filter.model === undefined || entry.model === filter.model) &&
    (filter.userId === undefined || entry.userId === filter.userId)
  )
}
