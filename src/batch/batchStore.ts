// The rows of the Batch API (migration 015): files, batches and their lines. Lists are newest first and paged as
// OpenAI pages them (`after` an object's id, `limit`, `has_more`), keyset on the rowid so that a walk never repeats or
// skips a row while others are added. An owner of `undefined` reads every user's rows (an admin).
import type { Db } from '../store/database.js'

export interface FileRow {
  id: string
  userId: number
  purpose: string
  filename: string
  bytes: number
  /** Seconds since epoch, as OpenAI's objects say it. */
  createdAt: number
}

export type BatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled'

/** The statuses the runner still works on (resumed after a restart). */
export const activeStatuses: readonly BatchStatus[] = ['validating', 'in_progress', 'finalizing', 'cancelling']

export interface BatchRow {
  id: string
  userId: number
  keyId: string | null
  inputFileId: string
  endpoint: string
  completionWindow: string
  status: BatchStatus
  /** JSON text (metadata object; OpenAI's `errors.data` list), or null. */
  metadata: string | null
  errors: string | null
  outputFileId: string | null
  errorFileId: string | null
  createdAt: number
  expiresAt: number
  inProgressAt: number | null
  finalizingAt: number | null
  completedAt: number | null
  failedAt: number | null
  expiredAt: number | null
  cancellingAt: number | null
  cancelledAt: number | null
}

/** A batch just made: validating, nothing of it stamped or written yet. */
export function newBatchRow(
  fields: Pick<
    BatchRow,
    'id' | 'userId' | 'keyId' | 'inputFileId' | 'endpoint' | 'completionWindow' | 'metadata' | 'createdAt' | 'expiresAt'
  >,
): BatchRow {
  return {
    ...fields,
    status: 'validating',
    errors: null,
    outputFileId: null,
    errorFileId: null,
    inProgressAt: null,
    finalizingAt: null,
    completedAt: null,
    failedAt: null,
    expiredAt: null,
    cancellingAt: null,
    cancelledAt: null,
  }
}

export interface LineCounts {
  total: number
  completed: number
  failed: number
}

export interface PendingLine {
  line: number
  customId: string
  offset: number
  length: number
}

export interface NewLine {
  customId: string
  offset: number
  length: number
}

/** A finished batch's files, not recorded yet (BatchStore.finish records them with the batch's end). */
export interface ResultFileRows {
  output: FileRow | null
  error: FileRow | null
}

export interface ListPage<T> {
  rows: T[]
  hasMore: boolean
}

const batchColumns = `id, user_id AS userId, key_id AS keyId, input_file_id AS inputFileId, endpoint,
  completion_window AS completionWindow, status, metadata, errors, output_file_id AS outputFileId,
  error_file_id AS errorFileId, created_at AS createdAt, expires_at AS expiresAt, in_progress_at AS inProgressAt,
  finalizing_at AS finalizingAt, completed_at AS completedAt, failed_at AS failedAt, expired_at AS expiredAt,
  cancelling_at AS cancellingAt, cancelled_at AS cancelledAt`
const fileColumns = 'id, user_id AS userId, purpose, filename, bytes, created_at AS createdAt'

/** Where a status change stamps its time (OpenAI's `<status>_at` fields). */
const stampOf: Partial<Record<BatchStatus, string>> = {
  in_progress: 'in_progress_at',
  finalizing: 'finalizing_at',
  completed: 'completed_at',
  failed: 'failed_at',
  expired: 'expired_at',
  cancelling: 'cancelling_at',
  cancelled: 'cancelled_at',
}

export class BatchStore {
  constructor(readonly db: Db) {}

  addFile(file: FileRow): void {
    this.db
      .prepare('INSERT INTO files (id, user_id, purpose, filename, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(file.id, file.userId, file.purpose, file.filename, file.bytes, file.createdAt)
  }

  file(id: string): FileRow | undefined {
    return this.db.prepare(`SELECT ${fileColumns} FROM files WHERE id = ?`).get(id) as FileRow | undefined
  }

  /** Whether a row names this file (its bytes on disk are someone's). */
  hasFile(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM files WHERE id = ?').get(id) !== undefined
  }

  deleteFile(id: string): boolean {
    return this.db.prepare('DELETE FROM files WHERE id = ?').run(id).changes === 1
  }

  listFiles(owner: number | undefined, after: string | undefined, limit: number, purpose?: string): ListPage<FileRow> {
    return this.page(
      'files',
      fileColumns,
      owner,
      after,
      limit,
      purpose === undefined ? undefined : ['purpose', purpose],
    )
  }

  addBatch(batch: BatchRow): void {
    this.db
      .prepare(
        `INSERT INTO batches (id, user_id, key_id, input_file_id, endpoint, completion_window, status, metadata,
          created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        batch.id,
        batch.userId,
        batch.keyId,
        batch.inputFileId,
        batch.endpoint,
        batch.completionWindow,
        batch.status,
        batch.metadata,
        batch.createdAt,
        batch.expiresAt,
      )
  }

  batch(id: string): BatchRow | undefined {
    return this.db.prepare(`SELECT ${batchColumns} FROM batches WHERE id = ?`).get(id) as BatchRow | undefined
  }

  listBatches(owner: number | undefined, after: string | undefined, limit: number): ListPage<BatchRow> {
    return this.page('batches', batchColumns, owner, after, limit, undefined)
  }

  activeBatches(): BatchRow[] {
    const marks = activeStatuses.map(() => '?').join(', ')
    return this.db
      .prepare(`SELECT ${batchColumns} FROM batches WHERE status IN (${marks}) ORDER BY rowid`)
      .all(...activeStatuses) as BatchRow[]
  }

  /**
   * Moves a batch to `status` (stamping its time) only from one of `from`: false when it was elsewhere already (a
   * cancel that came first), so that two movers never both win.
   */
  setStatus(id: string, from: readonly BatchStatus[], status: BatchStatus, now: number): boolean {
    const stamp = stampOf[status]
    const marks = from.map(() => '?').join(', ')
    const set = stamp ? `status = ?, ${stamp} = ?` : 'status = ?'
    const values = stamp ? [status, now] : [status]
    return (
      this.db.prepare(`UPDATE batches SET ${set} WHERE id = ? AND status IN (${marks})`).run(...values, id, ...from)
        .changes === 1
    )
  }

  /** A file that passed: its lines, pending, and the batch in progress, in one transaction (a restart re-validates). */
  startLines(id: string, lines: readonly NewLine[], now: number): boolean {
    return this.db.transaction(() => {
      if (!this.setStatus(id, ['validating'], 'in_progress', now)) return false
      const insert = this.db.prepare(
        `INSERT INTO batch_lines (batch_id, line, custom_id, offset, length, state) VALUES (?, ?, ?, ?, ?, 'pending')`,
      )
      lines.forEach((line, index) => insert.run(id, index + 1, line.customId, line.offset, line.length))
      this.db.prepare('UPDATE batches SET lines_total = ? WHERE id = ?').run(lines.length, id)
      return true
    })()
  }

  /** Up to `limit` pending lines after line `afterLine`, in file order. */
  pendingLines(id: string, afterLine: number, limit: number): PendingLine[] {
    return this.db
      .prepare(
        `SELECT line, custom_id AS customId, offset, length FROM batch_lines
          WHERE batch_id = ? AND state = 'pending' AND line > ? ORDER BY line LIMIT ?`,
      )
      .all(id, afterLine, limit) as PendingLine[]
  }

  /** A line's result and state in one write: once settled, a line never runs or counts again. */
  settleLine(id: string, line: number, succeeded: boolean, result: string): boolean {
    return this.db.transaction(() => {
      const settled =
        this.db
          .prepare(`UPDATE batch_lines SET state = ?, result = ? WHERE batch_id = ? AND line = ? AND state = 'pending'`)
          .run(succeeded ? 'succeeded' : 'failed', result, id, line).changes === 1
      if (settled) {
        const column = succeeded ? 'lines_succeeded' : 'lines_failed'
        this.db.prepare(`UPDATE batches SET ${column} = ${column} + 1 WHERE id = ?`).run(id)
      }
      return settled
    })()
  }

  /** The batch's line counts, kept on its row (migration 016): one lookup by id, whatever the batch's size. */
  counts(id: string): LineCounts {
    const row = this.db
      .prepare(
        'SELECT lines_total AS total, lines_succeeded AS completed, lines_failed AS failed FROM batches WHERE id = ?',
      )
      .get(id) as LineCounts | undefined
    return row ?? { total: 0, completed: 0, failed: 0 }
  }

  /**
   * The settled lines of one outcome, in file order: what the output (or error) file is written from. Read a page at a
   * time (never a statement left open across the writer's awaits: the connection serves requests meanwhile).
   */
  *results(id: string, succeeded: boolean): Generator<string> {
    const page = this.db.prepare(
      `SELECT line, result FROM batch_lines WHERE batch_id = ? AND state = ? AND line > ? ORDER BY line LIMIT 500`,
    )
    for (let after = 0; ;) {
      const rows = page.all(id, succeeded ? 'succeeded' : 'failed', after) as { line: number; result: string }[]
      if (rows.length === 0) return
      for (const row of rows) yield row.result
      after = rows[rows.length - 1]!.line
    }
  }

  /**
   * The batch's result files (their rows) and its final status, in one transaction: a crash before it leaves neither
   * (the files are written again on restart, the bytes of the first try left as unnamed files on disk).
   */
  finish(id: string, status: BatchStatus, files: ResultFileRows, now: number): void {
    this.db.transaction(() => {
      if (files.output) this.addFile(files.output)
      if (files.error) this.addFile(files.error)
      const stamp = stampOf[status]!
      this.db
        .prepare(`UPDATE batches SET status = ?, ${stamp} = ?, output_file_id = ?, error_file_id = ? WHERE id = ?`)
        .run(status, now, files.output?.id ?? null, files.error?.id ?? null, id)
    })()
  }

  /**
   * A file that failed validation: its error file's row and the batch failed with `errors`, in one transaction. False
   * (and no row) when the batch was no longer validating (cancelled meanwhile): the error file then belongs to nobody.
   */
  failValidation(id: string, errors: string, errorFile: FileRow | null, now: number): boolean {
    return this.db.transaction(() => {
      const failed =
        this.db
          .prepare(
            `UPDATE batches SET status = 'failed', failed_at = ?, errors = ?, error_file_id = ? WHERE id = ? AND status = 'validating'`,
          )
          .run(now, errors, errorFile?.id ?? null, id).changes === 1
      if (failed && errorFile) this.addFile(errorFile)
      return failed
    })()
  }

  private page<T>(
    table: 'files' | 'batches',
    columns: string,
    owner: number | undefined,
    after: string | undefined,
    limit: number,
    filter: [string, string] | undefined,
  ): ListPage<T> {
    const where: string[] = []
    const values: unknown[] = []
    if (owner !== undefined) {
      where.push('user_id = ?')
      values.push(owner)
    }
    if (filter) {
      where.push(`${filter[0]} = ?`)
      values.push(filter[1])
    }
    if (after !== undefined) {
      // An `after` that names no row (deleted meanwhile, or another user's) starts nowhere: an empty page. The cursor is
      // looked up among the caller's own rows only, or a non-empty page would tell that another user's id exists.
      const mine = owner !== undefined ? ' AND user_id = ?' : ''
      where.push(`rowid < COALESCE((SELECT rowid FROM ${table} WHERE id = ?${mine}), -1)`)
      values.push(after, ...(owner !== undefined ? [owner] : []))
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
    const rows = this.db
      .prepare(`SELECT ${columns} FROM ${table} ${clause} ORDER BY rowid DESC LIMIT ?`)
      .all(...values, limit + 1) as T[]
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit }
  }
}
