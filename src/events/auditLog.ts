// The audit log's table (migration 011): the one AuditRecorder that writes rows, hash-chained, and the queries that read
// them back. Each row is written in its own IMMEDIATE transaction that reads the chain's last hash, so the server and
// the CLI writing at once (two processes, two connections) still make one chain; called inside a change's own
// transaction, the row commits or rolls back with the change.
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import type { AuditEntry, AuditRecorder } from './auditEntry.js'
import { genesisHash, rowHash, type AuditRow } from './auditHash.js'
import { localActor } from './localActor.js'

/** Field names never kept in before/after, whoever hands them in: a secret must not reach the audit log. */
const secretFields = new Set([
  'key',
  'secret',
  'password',
  'password_hash',
  'passwordHash',
  'token',
  'access_token',
  'refresh_token',
  'key_hash',
  'keyHash',
  'hash',
])

export interface AuditFilter {
  /** Rows at or after this time (ms since epoch). */
  since?: number
  action?: string
  /** The acting user's name. */
  user?: string
  /** Rows with a seq below this one (the next page of a newest-first list). */
  beforeSeq?: number
  limit: number
}

export interface AuditAnchor {
  seq: number
  hash: string
  time: number
}

export class AuditLog implements AuditRecorder {
  private readonly statements

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      last: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      anchor: db.prepare('SELECT seq, hash, time FROM audit_anchor WHERE id = 1'),
      insert: db.prepare(`INSERT INTO audit_log (seq, time, action, source, actor_user, key_id, client_ip, os_user,
        host, target, before, after, result, error, request_id, prev_hash, hash) VALUES (@seq, @time, @action, @source,
        @actor_user, @key_id, @client_ip, @os_user, @host, @target, @before, @after, @result, @error, @request_id,
        @prev_hash, @hash)`),
      lastBefore: db.prepare('SELECT seq, hash FROM audit_log WHERE time < ? ORDER BY seq DESC LIMIT 1'),
      setAnchor: db.prepare(`INSERT INTO audit_anchor (id, seq, hash, time) VALUES (1, @seq, @hash, @time)
        ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, time = excluded.time`),
      flagPrune: db.prepare('INSERT INTO audit_prune (id) VALUES (1)'),
      unflagPrune: db.prepare('DELETE FROM audit_prune'),
      deleteUpTo: db.prepare('DELETE FROM audit_log WHERE seq <= ?'),
    }
  }

  /** Appends the entry as the chain's next row; returns it. Throws when the database refuses (nothing half-written). */
  record(entry: AuditEntry): void {
    this.append(entry)
  }

  append(entry: AuditEntry): AuditRow {
    return this.db
      .transaction(() => {
        const last = this.lastLink()
        const row: Omit<AuditRow, 'hash'> = {
          seq: last.seq + 1,
          time: this.now(),
          action: entry.action,
          source: entry.actor.source,
          actor_user: entry.actor.user,
          key_id: entry.actor.keyId,
          client_ip: entry.actor.clientIp,
          os_user: entry.actor.osUser ?? null,
          host: entry.actor.host ?? null,
          target: entry.target,
          before: fieldsText(entry.before),
          after: fieldsText(entry.after),
          result: entry.result,
          error: entry.error ?? null,
          request_id: entry.requestId,
          prev_hash: last.hash,
        }
        const stored = { ...row, hash: rowHash(row) }
        this.statements.insert.run(stored)
        return stored
      })
      .immediate()
  }

  /** The newest rows first, filtered. */
  list(filter: AuditFilter): AuditRow[] {
    const conditions = filterConditions(filter)
    if (filter.beforeSeq !== undefined) conditions.push(['seq < ?', filter.beforeSeq])
    const where = conditions.map(([condition]) => condition)
    const values = conditions.map(([, value]) => value)
    const sql =
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` + 'ORDER BY seq DESC LIMIT ?'
    return this.db.prepare(sql).all(...values, filter.limit) as AuditRow[]
  }

  /** Rows after `afterSeq`, oldest first, filtered (an export's pages). */
  listAscending(filter: Omit<AuditFilter, 'beforeSeq'> & { afterSeq: number }): AuditRow[] {
    const conditions = filterConditions(filter)
    conditions.push(['seq > ?', filter.afterSeq])
    const sql = `SELECT * FROM audit_log WHERE ${conditions.map(([condition]) => condition).join(' AND ')} ORDER BY seq LIMIT ?`
    return this.db.prepare(sql).all(...conditions.map(([, value]) => value), filter.limit) as AuditRow[]
  }

  anchor(): AuditAnchor | undefined {
    return this.statements.anchor.get() as AuditAnchor | undefined
  }

  /** The newest row's seq and hash (or the anchor's, or the genesis): what a checkpoint signs. */
  lastLink(): { seq: number; hash: string } {
    const last = this.statements.last.get() as { seq: number; hash: string } | undefined
    if (last) return last
    const anchor = this.anchor()
    return anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: genesisHash }
  }

  /**
   * Deletes the rows older than `before` (the oldest first, up to the last such row), keeping that row's seq and hash
   * as the anchor the rest of the chain is verified from. Returns how many rows went.
   */
  prune(before: number): number {
    return this.db
      .transaction(() => {
        const last = this.statements.lastBefore.get(before) as { seq: number; hash: string } | undefined
        if (!last) return 0
        this.statements.flagPrune.run()
        this.statements.setAnchor.run({ seq: last.seq, hash: last.hash, time: this.now() })
        const deleted = this.statements.deleteUpTo.run(last.seq).changes
        this.statements.unflagPrune.run()
        return deleted
      })
      .immediate()
  }
}

/** The WHERE conditions (and their values) of a filter's fields that are set. */
function filterConditions(filter: Pick<AuditFilter, 'since' | 'action' | 'user'>): [string, unknown][] {
  const all: [string, unknown][] = [
    ['time >= ?', filter.since],
    ['action = ?', filter.action],
    ['actor_user = ?', filter.user],
  ]
  return all.filter(([, value]) => value !== undefined)
}

/** before/after as stored: JSON of the non-secret fields, or null. */
function fieldsText(fields: Record<string, unknown> | null | undefined): string | null {
  if (fields === null || fields === undefined) return null
  const kept: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(fields)) {
    if (!secretFields.has(name) && value !== undefined) kept[name] = value
  }
  return JSON.stringify(kept)
}

/** The retention prune, run by the hourly maintenance: rows older than `retentionMs` go (0: kept forever). */
export function pruneAudit(log: AuditLog, retentionMs: number, now: number, logger: Logger): number {
  if (retentionMs <= 0) return 0
  try {
    const rows = log.prune(now - retentionMs)
    if (rows > 0) {
      logger.info('pruned old audit rows', { rows })
      log.record({
        action: 'audit.prune',
        actor: localActor('system'),
        target: null,
        after: { rows, anchor_seq: log.anchor()?.seq ?? null },
        result: 'ok',
        requestId: null,
      })
    }
    return rows
  } catch (error) {
    logger.warn('could not prune audit rows', { err: error })
    return 0
  }
}
