// An in-process identity (store, tokens, authenticator, sessions) over a real SQLite file, with a cheap password
// hasher so that property tests can log in thousands of times. Argon2id itself is tested in passwords.test.ts.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { AccessTokens } from '../../src/auth/accessTokens.js'
import { Authenticator } from '../../src/auth/authenticator.js'
import { LoginLimiter } from '../../src/auth/loginLimiter.js'
import type { PasswordHasher } from '../../src/auth/passwords.js'
import { Sessions } from '../../src/auth/sessions.js'
import { createLogger } from '../../src/logger.js'
import { openStore, type Store } from '../../src/store/store.js'

export const cheapPasswords: PasswordHasher = {
  hash: async (password) => `plain:${password}`,
  verify: async (stored, password) => stored === `plain:${password}`,
  needsRehash: () => false,
  decoy: async () => 'plain:\u0000decoy',
}

export interface InProcessIdentity {
  store: Store
  /** A second connection to the same file: what the CLI, another process, writes through. */
  cli: Store
  tokens: AccessTokens
  authenticator: Authenticator
  sessions: Sessions
  path: string
  close(): void
}

export function inProcessIdentity(t: Test, accessTtlMs = 60_000): InProcessIdentity {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-identity-')), 'parallama.db')
  const config = { path, migrate_on_start: true, busy_timeout: 5000 }
  const store = openStore(config, { migrate: true })
  const cli = openStore(config, { migrate: true })
  const tokens = new AccessTokens([{ kid: 'test', key: Buffer.alloc(32, 7) }], {
    ttlMs: accessTtlMs,
    issuer: 'parallama',
    audience: 'parallama',
  })
  const authenticator = new Authenticator(
    store,
    tokens,
    {
      cacheSize: 1000,
      cacheTtlMs: 3_600_000,
      negativeCacheSize: 100,
      negativeCacheTtlMs: 60_000,
      changePollMs: 3_600_000,
      lastUsedFlushMs: 3_600_000,
    },
    createLogger('silent'),
  )
  authenticator.start()
  const limiter = new LoginLimiter({ maxFailures: 1000, maxBackoffMs: 1000, maxEntries: 100 })
  const sessions = new Sessions(store.users, store.sessions, tokens, limiter, {
    accessTtlMs: accessTtlMs,
    refreshTtlMs: 3_600_000,
    passwords: cheapPasswords,
  })
  let open = true
  const close = () => {
    if (!open) return
    open = false
    authenticator.stop()
    cli.close()
    store.close()
  }
  t.teardown(close)
  return { store, cli, tokens, authenticator, sessions, path, close }
}
