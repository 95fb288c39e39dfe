// The store as the rest of the program sees it: the open database, migrated (or checked), with one repository per
// table family and the change feed they write to.
import type { Config } from '../config/schema.js'
import { KeyStore } from './apiKeys.js'
import { CacheEntryStore } from './cacheEntries.js'
import { ChangeFeed } from './changeFeed.js'
import { openDatabase, type Db } from './database.js'
import { migrate, requireCurrent } from './migrations.js'
import { LimitStore } from './limits.js'
import { SessionStore } from './sessions.js'
import { UserStore } from './users.js'

export interface Store {
  db: Db
  feed: ChangeFeed
  users: UserStore
  keys: KeyStore
  sessions: SessionStore
  limits: LimitStore
  /** The response cache's persistent tier (cache_entries). */
  cache: CacheEntryStore
  close(): void
}

export interface StoreOptions {
  /** Apply pending migrations (the server per config, the CLI always); otherwise refuse an outdated database. */
  migrate: boolean
  now?: () => number
}

export function openStore(
  config: Pick<Config['database'], 'path' | 'migrate_on_start' | 'busy_timeout'>,
  options: StoreOptions,
): Store {
  const db = openDatabase(config.path, { busyTimeoutMs: config.busy_timeout })
  try {
    if (options.migrate) migrate(db)
    else requireCurrent(db)
  } catch (error) {
    db.close()
    throw error
  }
  return storeOn(db, options.now)
}

/** The repositories on an open database (already migrated or checked), e.g. one the CLI opened read-only. */
export function storeOn(db: Db, now?: () => number): Store {
  const options = { now }
  const feed = new ChangeFeed(db)
  return {
    db,
    feed,
    users: new UserStore(db, feed, options.now),
    keys: new KeyStore(db, feed, options.now),
    sessions: new SessionStore(db, feed, options.now),
    limits: new LimitStore(db, feed, options.now),
    cache: new CacheEntryStore(db, feed),
    close: () => db.close(),
  }
}
