// Commands that work on the SQLite file: which file (--db, else the config's database.path), opened and migrated,
// safe beside a running server (WAL; writes wait for its lock up to database.busy_timeout).
// A --db that does not exist is an error (a typo must not create an empty database); only the configured path is
// created by a command that writes, and `db migrate` creates any. Commands that only read open the file read-only and
// change nothing, so they work on a read-only file or folder.
import Database from 'better-sqlite3'
import { chownSync, existsSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Config } from '../src/config/schema.js'
import { createPrivateFile, openDatabase, type Db } from '../src/store/database.js'
import { requireCurrent } from '../src/store/migrations.js'
import { openStore, storeOn, type Store } from '../src/store/store.js'
import type { AuditTrail } from '../src/admin/auditTrail.js'
import { cliTrail } from './cliAudit.js'
import { loadConfigOrExit } from './options.js'
import { CliError } from './output.js'

export const storeOptions = {
  db: { type: 'string', describe: 'the database file (default: database.path from the config); must exist' },
  config: {
    type: 'string',
    describe: 'config file (default: /etc/parallama/parallama.yaml, else ./conf/parallama.yaml)',
  },
  json: { type: 'boolean', default: false, describe: 'print JSON for scripts' },
} as const

export interface StoreArgs {
  db?: string
  config?: string
  json: boolean
}

export function databaseConfig(args: StoreArgs): Config['database'] & { config: Config } {
  const { config } = loadConfigOrExit(args.config)
  return { ...config.database, path: args.db ?? config.database.path, config }
}

/** `write`: may create (the configured path only) and migrate; `read`: read-only, nothing created or changed. */
export type StoreMode = 'read' | 'write'

/** Runs `work` with the store open (and the audit trail of this command's actor), and closes it after. */
export function withStore<T>(
  args: StoreArgs,
  work: (store: Store, config: Config, trail: AuditTrail) => T,
  mode: StoreMode = 'write',
): T {
  const database = databaseConfig(args)
  if (!existsSync(database.path)) {
    if (args.db !== undefined || mode === 'read') {
      throw new CliError(
        `no database at ${database.path}` +
          (args.db !== undefined ? " (--db names an existing file; 'parallama db migrate --db PATH' creates one)" : ''),
      )
    }
    createPrivateFile(database.path)
    giveToFolderOwner(database.path)
  }
  const store = mode === 'read' ? readOnlyStore(database.path, database.busy_timeout) : writableStore(database)
  let result: T
  try {
    const trail = cliTrail(store, store.db.readonly, database.path, database.busy_timeout)
    result = work(store, database.config, trail)
  } catch (error) {
    store.close()
    throw readOnlyError(error, database.path)
  }
  // Async work (a streamed export) keeps the store open until it settles.
  if (result instanceof Promise) return result.finally(() => store.close()) as T
  store.close()
  return result
}

function writableStore(database: Config['database']): Store {
  try {
    return openStore(database, { migrate: true })
  } catch (error) {
    // A read-only file or folder: a command that only reads still works; one that writes says why it cannot.
    if (!isReadOnly(error)) throw error
    return readOnlyStore(database.path, database.busy_timeout)
  }
}

/** The store on a read-only connection; refuses a database that lacks migrations (it cannot apply them). */
export function readOnlyStore(path: string, busyTimeoutMs: number): Store {
  const db = openForReading(path, busyTimeoutMs)
  try {
    requireCurrent(db)
  } catch (error) {
    db.close()
    throw error
  }
  return storeOn(db)
}

function openForReading(path: string, busyTimeoutMs: number): Db {
  let db: Db | undefined
  try {
    db = openDatabase(path, { busyTimeoutMs, readonly: true })
    db.prepare('SELECT count(*) FROM sqlite_master').get()
    return db
  } catch (error) {
    db?.close()
    if (!isReadOnly(error)) throw error
  }
  // SQLite cannot read a WAL database in a folder where it may not create the -shm file. With no -wal file (a clean
  // shutdown leaves none) the file holds everything: read a copy in memory, marked as a rollback-journal database.
  const wal = `${path}-wal`
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new CliError(
      `cannot read ${path}: its folder is read-only and ${wal} holds changes not yet in the file ` +
        '(stop the server cleanly, or make the folder writable)',
    )
  }
  const image = readFileSync(path)
  if (image.length >= 20 && image[18] === 2) image[18] = image[19] = 1
  return new Database(image, { readonly: true })
}

function isReadOnly(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  const text = error instanceof Error ? error.message : ''
  return (
    (typeof code === 'string' && /^SQLITE_(READONLY|CANTOPEN)/.test(code)) ||
    /readonly database|unable to open database/.test(text)
  )
}

/** A write refused because the database is read-only becomes a message that says so. */
function readOnlyError(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) {
    return new CliError(`the database ${path} is read-only here, and this command changes it`)
  }
  return error
}

/**
 * Run as root (say, before the first start), the CLI would leave a root-owned database the service user cannot open.
 * A new file goes to the owner of its folder (the service's state directory) before SQLite opens it, and SQLite gives
 * its -wal and -shm files the owner of the database.
 */
function giveToFolderOwner(path: string): void {
  if (process.getuid?.() !== 0) return
  const folder = statSync(dirname(path))
  if (folder.uid !== 0) chownSync(path, folder.uid, folder.gid)
}
