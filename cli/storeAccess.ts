// Commands that work on the SQLite file: which file (--db, else the config's database.path), opened and migrated,
// safe beside a running server (WAL; writes wait for its lock up to database.busy_timeout).
import { chownSync, existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Config } from '../src/config/schema.js'
import { createPrivateFile } from '../src/store/database.js'
import { openStore, type Store } from '../src/store/store.js'
import { loadConfigOrExit } from './options.js'

export const storeOptions = {
  db: { type: 'string', describe: 'the database file (default: database.path from the config)' },
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

/** Runs `work` with the store open, and closes it after. */
export function withStore<T>(args: StoreArgs, work: (store: Store, config: Config) => T): T {
  const database = databaseConfig(args)
  if (!existsSync(database.path)) {
    createPrivateFile(database.path)
    giveToFolderOwner(database.path)
  }
  const store = openStore(database, { migrate: true })
  let result: T
  try {
    result = work(store, database.config)
  } catch (error) {
    store.close()
    throw error
  }
  // Async work (a streamed export) keeps the store open until it settles.
  if (result instanceof Promise) return result.finally(() => store.close()) as T
  store.close()
  return result
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
