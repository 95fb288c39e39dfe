// The persistent tier of the response cache (cache_entries, migration 014): replies by key, bounded by bytes (the
// oldest go), expired rows swept. A purge is written to the change feed in the same transaction, so a running server
// drops the same entries from its memory tier when the CLI purged the file (src/cache/responseCache.ts).
import type { ChangeFeed } from './changeFeed.js'
import type { Db } from './database.js'

export interface CacheRow {
  key: string
  route: string
  model: string
  userId: number | null
  contentType: string
  body: Buffer
  /** JSON of the replay's holes (src/cache/freshIds.ts). */
  holes: string
  storedAt: number
  expiresAt: number
}

export interface CacheRowFilter {
  model?: string
  userId?: number
}

export interface CacheTierStats {
  entries: number
  bytes: number
  expired: number
}

const columns = `key, route, model, user_id AS userId, content_type AS contentType, body, holes, stored_at AS storedAt,
  expires_at AS expiresAt`

export class CacheEntryStore {
  private readonly getRow
  private readonly putRow
  private readonly oldest
  private readonly deleteRow
  private readonly sweepRows
  private readonly total
  private readonly sizeOf
  /**
   * Bytes of bodies in the table as this connection last knew them: summed once, then kept up to date by put, and
   * summed again after a sweep or purge (another process's purge only makes this an overestimate until then: rows go
   * a little early, never too late).
   */
  private knownBytes: number | undefined

  constructor(
    private readonly db: Db,
    private readonly feed: ChangeFeed,
  ) {
    this.getRow = db.prepare(`SELECT ${columns} FROM cache_entries WHERE key = ? AND expires_at > ?`)
    this.putRow = db.prepare(`INSERT OR REPLACE INTO cache_entries (key, route, model, user_id, content_type, body,
      holes, stored_at, expires_at) VALUES (@key, @route, @model, @userId, @contentType, @body, @holes, @storedAt,
      @expiresAt)`)
    this.oldest = db.prepare('SELECT key, length(body) AS bytes FROM cache_entries ORDER BY stored_at LIMIT ?')
    this.deleteRow = db.prepare('DELETE FROM cache_entries WHERE key = ?')
    this.sweepRows = db.prepare('DELETE FROM cache_entries WHERE expires_at <= ?')
    this.total = db.prepare('SELECT COALESCE(SUM(length(body)), 0) FROM cache_entries').pluck()
    this.sizeOf = db.prepare('SELECT length(body) FROM cache_entries WHERE key = ?').pluck()
  }

  /** The entry under `key` that has not expired at `now`. */
  get(key: string, now: number): CacheRow | undefined {
    return this.getRow.get(key, now) as CacheRow | undefined
  }

  /** Stores a row, then takes out the oldest rows until the table holds at most `maxBytes` of bodies. */
  put(row: CacheRow, maxBytes: number): void {
    this.db.transaction(() => {
      const before = this.knownBytes ?? (this.total.get() as number)
      const replaced = (this.sizeOf.get(row.key) as number | undefined) ?? 0
      this.putRow.run(row)
      let total = before - replaced + row.body.length
      while (total > maxBytes) {
        const batch = this.oldest.all(64) as { key: string; bytes: number }[]
        if (batch.length === 0) break
        for (const old of batch) {
          if (total <= maxBytes) break
          this.deleteRow.run(old.key)
          total -= old.bytes
        }
      }
      this.knownBytes = total
    })()
  }

  /** Deletes rows expired at `now`; returns how many. */
  sweep(now: number): number {
    this.knownBytes = undefined
    return this.sweepRows.run(now).changes
  }

  /** Deletes the matching rows and tells running servers (the change feed) to drop them from memory too. */
  purge(filter: CacheRowFilter, now: number): number {
    const { where, params } = filterSql(filter)
    this.knownBytes = undefined
    return this.db.transaction(() => {
      const removed = this.db.prepare(`DELETE FROM cache_entries ${where}`).run(params).changes
      const detail: Record<string, unknown> = { model: filter.model ?? null }
      this.feed.record('cache_purged', now, filter.userId === undefined ? {} : { userId: filter.userId }, detail)
      return removed
    })()
  }

  stats(now: number): CacheTierStats {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS entries, COALESCE(SUM(length(body)), 0) AS bytes,
          COALESCE(SUM(expires_at <= ?), 0) AS expired FROM cache_entries`,
      )
      .get(now) as CacheTierStats
    return row
  }
}

function filterSql(filter: CacheRowFilter): { where: string; params: Record<string, unknown> } {
  const clauses: string[] = []
  const params: Record<string, unknown> = {}
  if (filter.model !== undefined) {
    clauses.push('model = @model')
    params.model = filter.model
  }
  if (filter.userId !== undefined) {
    clauses.push('user_id = @userId')
    params.userId = filter.userId
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params }
}
