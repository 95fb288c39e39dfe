// Opens the one SQLite file: created 0600 (with its folder, 0750), WAL so readers never wait for the writer,
// synchronous=NORMAL (durable at checkpoints, never corrupt), a busy timeout for the CLI's concurrent writes.
import Database from 'better-sqlite3'
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'

export type Db = Database.Database

export interface OpenOptions {
  busyTimeoutMs: number
  readonly?: boolean
}

export class DatabaseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function openDatabase(path: string, options: OpenOptions): Db {
  if (!options.readonly && path !== ':memory:' && !existsSync(path)) createPrivateFile(path)
  let db: Db
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false })
  } catch (error) {
    throw new DatabaseError('database_unavailable', `cannot open database ${path}: ${(error as Error).message}`)
  }
  db.pragma(`busy_timeout = ${Math.floor(options.busyTimeoutMs)}`)
  if (!options.readonly) db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  return db
}

/** SQLite gives its -wal and -shm files the mode of the database file, so creating that 0600 covers all three. */
export function createPrivateFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 })
    closeSync(openSync(path, 'a', 0o600))
  } catch (error) {
    throw new DatabaseError('database_unavailable', `cannot create database ${path}: ${(error as Error).message}`)
  }
}
