// Everything about who is calling, built from the config over an open store: key verification, login tokens,
// sessions and the login limiter.
import type { Config } from '../config/schema.js'
import type { Emit } from '../events/eventBus.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { AccessTokens } from './accessTokens.js'
import { Authenticator } from './authenticator.js'
import { loadJwtSecrets } from './jwtSecrets.js'
import { LoginLimiter } from './loginLimiter.js'
import { Sessions } from './sessions.js'

export interface Identity {
  authenticator: Authenticator
  sessions: Sessions
}

export function createIdentity(config: Config, store: Store, logger: Logger, emit?: Emit): Identity {
  const auth = config.auth
  const tokens = new AccessTokens(loadJwtSecrets(auth.jwt_secret, auth.jwt_secret_file), {
    ttlMs: auth.access_token_ttl,
    issuer: auth.token_issuer,
    audience: auth.token_audience,
  })
  const authenticator = new Authenticator(
    store,
    tokens,
    {
      cacheSize: auth.key_cache_size,
      cacheTtlMs: auth.key_cache_ttl,
      negativeCacheSize: auth.negative_cache_size,
      negativeCacheTtlMs: auth.negative_cache_ttl,
      changePollMs: auth.change_poll,
      lastUsedFlushMs: auth.last_used_flush,
    },
    logger,
  )
  const limiter = new LoginLimiter({ maxFailures: auth.login_max_failures, maxBackoffMs: auth.login_max_backoff })
  const sessions = new Sessions(store.users, store.sessions, tokens, limiter, {
    accessTtlMs: auth.access_token_ttl,
    refreshTtlMs: auth.refresh_token_ttl,
    emit,
  })
  return { authenticator, sessions }
}
