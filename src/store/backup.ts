// Online backups, checks and restores of the SQLite file. A backup uses SQLite's backup API (a consistent copy while
// the server keeps writing), is verified before it gets its final name, and is renamed into place, so a backup file
// that exists is always whole. A restore refuses while a server uses the database and keeps the replaced files.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { DatabaseError, openDatabase } from './database.js'
import { migrationState } from './migrations.js'

export interface CheckResult {
  ok: boolean
  problems: string[]
  /** Schema version (newest applied migration); 0 for an empty database. */
  version: number
}

/** integrity_check, foreign keys, and whether this version of Parallama knows the schema. */
export function checkDatabase(path: string): CheckResult {
  if (!existsSync(path)) return { ok: false, problems: [`no such file: ${path}`], version: 0 }
  let db
  try {
    db = openDatabase(path, { busyTimeoutMs: 5000, readonly: true })
  } catch (error) {
    return { ok: false, problems: [(error as Error).message], version: 0 }
  }
  const problems: string[] = []
  let version = 0
  try {
    const integrity = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]
    for (const row of integrity) if (row.integrity_check !== 'ok') problems.push(`integrity: ${row.integrity_check}`)
    const keys = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]
    for (const row of keys)
      problems.push(`foreign key: ${row.table} row ${row.rowid} points to a missing ${row.parent}`)
    const state = migrationState(db)
    version = state.applied.at(-1)?.version ?? 0
  } catch (error) {
    problems.push((error as Error).message)
  } finally {
    db.close()
  }
  return { ok: problems.length === 0, problems, version }
}

export interface BackupProgress {
  totalPages: number
  remainingPages: number
}

/**
 * Copies the database at `source` to `destination` while it may be in use. Written to a temporary name beside the
 * destination, checked, then renamed: the destination is either absent or a verified backup.
 */
export async function backupDatabase(
  source: string,
  destination: string,
  onProgress: (progress: BackupProgress) => void = () => {},
): Promise<{ bytes: number; version: number }> {
  if (!existsSync(source)) throw new DatabaseError('database_unavailable', `no database at ${source}`)
  const temporary = join(dirname(destination), `.${basename(destination)}.partial-${process.pid}`)
  const db = openDatabase(source, { busyTimeoutMs: 5000, readonly: true })
  try {
    await db.backup(temporary, {
      progress: (progress) => {
        onProgress(progress)
        return 256 // pages per step: short steps, so a running server's writes are never held up for long
      },
    })
  } catch (error) {
    rmSync(temporary, { force: true })
    throw new DatabaseError('backup_failed', `backup to ${destination} failed: ${(error as Error).message}`)
  } finally {
    db.close()
  }
  chmodSync(temporary, 0o600)
  // A backup is one self-contained file: out of WAL mode (the server turns it back on when it opens a restored file).
  const copy = new Database(temporary)
  copy.pragma('journal_mode = DELETE')
  copy.close()
  const check = checkDatabase(temporary)
  if (!check.ok) {
    rmSync(temporary, { force: true })
    throw new DatabaseError('backup_failed', `the backup did not verify: ${check.problems.join('; ')}`)
  }
  renameSync(temporary, destination)
  return { bytes: statSync(destination).size, version: check.version }
}

/** The file a running server keeps beside its database, holding its pid. */
export function serverMarker(dbPath: string): string {
  return `${dbPath}.server`
}

export function markServer(dbPath: string): () => void {
  const marker = serverMarker(dbPath)
  writeFileSync(marker, `${process.pid}\n`, { mode: 0o600 })
  return () => rmSync(marker, { force: true })
}

/** The pid of a live server using the database, if any (a marker left by a killed server does not count). */
export function runningServer(dbPath: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(serverMarker(dbPath), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

/**
 * Replaces the database with a verified backup. Refuses while a server uses it; the replaced file (and its WAL) are
 * kept as `<db>.before-restore-<time>`. Returns that name.
 */
export function restoreDatabase(backup: string, dbPath: string, now = new Date()): string | undefined {
  const pid = runningServer(dbPath)
  if (pid !== undefined) {
    throw new DatabaseError(
      'database_in_use',
      `a server (pid ${pid}) is using ${dbPath}; stop it first (systemctl stop parallama)`,
    )
  }
  const check = checkDatabase(backup)
  if (!check.ok)
    throw new DatabaseError('backup_invalid', `${backup} is not a usable backup: ${check.problems.join('; ')}`)
  const temporary = join(dirname(dbPath), `.${basename(dbPath)}.restoring-${process.pid}`)
  copyFileSync(backup, temporary)
  chmodSync(temporary, 0o600)
  let kept: string | undefined
  if (existsSync(dbPath)) {
    kept = `${dbPath}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`
    for (const suffix of ['-wal', '-shm']) if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, kept + suffix)
    renameSync(dbPath, kept)
  }
  renameSync(temporary, dbPath)
  return kept
}

/** A scheduled backup's file name: its time, so that names sort by age. */
const backupName = /^parallama-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.db$/

/** The scheduled backups in a folder, oldest first (none when the folder is missing). */
function scheduledBackups(folder: string): string[] {
  if (!existsSync(folder)) return []
  return readdirSync(folder)
    .filter((file) => backupName.test(file))
    .sort()
}

/** The newest scheduled backup's time (each was verified before it got its name), or null. */
export function newestBackupTime(folder: string): number | null {
  const newest = scheduledBackups(folder).at(-1)
  const parts = newest === undefined ? null : backupName.exec(newest)
  if (!parts) return null
  const [year, month, date, hours, minutes, seconds] = parts.slice(1).map(Number)
  return Date.UTC(year!, month! - 1, date, hours, minutes, seconds)
}

/** Scheduled backups: `parallama-<time>.db` in a folder, the newest `keep` of them kept. */
export async function rotateBackup(dbPath: string, folder: string, keep: number, now = new Date()): Promise<string> {
  const name = `parallama-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.db`
  const destination = join(folder, name)
  await backupDatabase(dbPath, destination)
  const backups = scheduledBackups(folder)
  for (const old of backups.slice(0, Math.max(0, backups.length - keep))) rmSync(join(folder, old), { force: true })
  return destination
}
