// Turns a presented credential into a principal, and keeps what it caches in step with the database: it watches the
// change feed and writes key last-use times in batches.
import { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import { ChangeWatcher } from '../store/changeFeed.js'
import type { Store } from '../store/store.js'
import { looksLikeKey } from './apiKeyFormat.js'
import { authFailure } from './authErrors.js'
import { KeyVerifier, type KeyVerifierOptions } from './keyVerifier.js'
import type { Principal } from './principal.js'

export interface AuthenticatorOptions extends KeyVerifierOptions {
  changePollMs: number
  lastUsedFlushMs: number
}

export class Authenticator {
  readonly keys: KeyVerifier
  private readonly watcher: ChangeWatcher
  private flushTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly store: Store,
    private readonly options: AuthenticatorOptions,
    private readonly logger: Logger,
  ) {
    this.keys = new KeyVerifier(store.keys, options)
    this.watcher = new ChangeWatcher(store.db, store.feed, (changes) => this.keys.apply(changes))
  }

  start(): void {
    this.watcher.start(this.options.changePollMs)
    this.flushTimer = setInterval(() => this.flushLastUsed(), this.options.lastUsedFlushMs)
    this.flushTimer.unref()
  }

  /** `credential` as presentedCredential() returned it. */
  authenticate(credential: string | undefined): Principal | GatewayError {
    if (credential === undefined) {
      return authFailure('invalid_api_key', 'unsupported Authorization scheme: use Authorization: Bearer <key>')
    }
    if (credential === '') return authFailure('missing_credential')
    if (looksLikeKey(credential)) return this.keys.verify(credential)
    return authFailure('invalid_api_key')
  }

  /** Reads pending changes now (tests and the CLI's own writes in the same process). */
  pollChanges(): void {
    this.watcher.poll()
  }

  flushLastUsed(): void {
    try {
      this.store.keys.touchMany(this.keys.takeLastUsed())
    } catch (error) {
      this.logger.warn('could not record key last-use times', { err: error })
    }
  }

  stop(): void {
    this.watcher.stop()
    if (this.flushTimer) clearInterval(this.flushTimer)
    this.flushLastUsed()
  }
}
