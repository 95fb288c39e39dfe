// Numbered SQL files (src/store/migrations/NNN_name.sql) applied in order, each in one transaction, recorded with a
// checksum. A database that has a migration we do not know (a newer Parallama wrote it) or whose applied migration
// changed since is refused, never silently used.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DatabaseError, type Db } from './database.js'

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
}

export interface MigrationState {
  applied: { version: number; name: string; appliedAt: number }[]
  pending: Migration[]
}

const folder = fileURLToPath(new URL('./migrations/', import.meta.url))

export function knownMigrations(dir = folder): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(dir + file, 'utf8')
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
}

function ensureTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
}

/** What is applied and what is pending; throws if the database does not belong to this version of Parallama. */
export function migrationState(db: Db, known = knownMigrations()): MigrationState {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get()
  const rows = exists
    ? (db.prepare('SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version').all() as {
        version: number
        name: string
        checksum: string
        applied_at: number
      }[])
    : []
  const byVersion = new Map(known.map((migration) => [migration.version, migration]))
  for (const row of rows) {
    const migration = byVersion.get(row.version)
    if (!migration) {
      throw new DatabaseError(
        'database_too_new',
        `the database has migration ${row.version} (${row.name}), which this version of Parallama does not know: ` +
          'it was written by a newer version; upgrade Parallama or restore a backup',
      )
    }
    if (migration.checksum !== row.checksum) {
      throw new DatabaseError(
        'migration_changed',
        `migration ${row.version} (${row.name}) differs from the one applied to this database; ` +
          'applied migrations must never be edited — add a new migration instead',
      )
    }
  }
  const applied = new Set(rows.map((row) => row.version))
  return {
    applied: rows.map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at })),
    pending: known.filter((migration) => !applied.has(migration.version)),
  }
}

/** Applies every pending migration, each in its own transaction; returns what was applied. */
export function migrate(db: Db, known = knownMigrations(), now = Date.now()): Migration[] {
  const { pending } = migrationState(db, known)
  ensureTable(db)
  const record = db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)')
  for (const migration of pending) {
    db.transaction(() => {
      db.exec(migration.sql)
      record.run(migration.version, migration.name, migration.checksum, now)
    }).immediate()
  }
  return pending
}

/** For a server told not to migrate: refuse to run on a database that is behind. */
export function requireCurrent(db: Db, known = knownMigrations()): void {
  const { pending } = migrationState(db, known)
  if (pending.length > 0) {
    throw new DatabaseError(
      'database_outdated',
      `the database lacks ${pending.length} migration(s) (${pending.map((m) => m.version).join(', ')}); ` +
        "run 'parallama db migrate' or set database.migrate_on_start: true",
    )
  }
}
