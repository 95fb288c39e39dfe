// Everything about who is calling, built from the config over an open store: key verification, login tokens,
// sessions and the login limiter; single sign-on and the identity provider's access tokens when auth.oidc is set.
import type { Config } from '../config/schema.js'
import { notAudited, type AuditRecorder } from '../events/auditEntry.js'
import type { Emit } from '../events/eventBus.js'
import type { Logger } from '../logger.js'
import type { Store } from '../store/store.js'
import { AccessTokens } from './accessTokens.js'
import { Authenticator } from './authenticator.js'
import { loadJwtSecrets } from './jwtSecrets.js'
import { LoginLimiter } from './loginLimiter.js'
import { Sessions } from './sessions.js'
import { IdpTokens } from './sso/idpTokens.js'
import { SsoLogin } from './sso/ssoLogin.js'
import { ssoSettings } from './sso/ssoSettings.js'

export interface Identity {
  authenticator: Authenticator
  sessions: Sessions
  /** Single sign-on, when auth.oidc.issuer is set. */
  sso: SsoLogin | undefined
}

export function createIdentity(
  config: Config,
  store: Store,
  logger: Logger,
  emit?: Emit,
  audit: AuditRecorder = notAudited,
): Identity {
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
  const settings = ssoSettings(config)
  const sso = settings
    ? new SsoLogin(settings, { users: store.users, sessions, logger, audit, refreshTtlMs: auth.refresh_token_ttl })
    : undefined
  if (sso && settings!.acceptAccessTokens) {
    const idpTokens = new IdpTokens(
      {
        issuer: settings!.issuer,
        audience: settings!.audience,
        clockSkewMs: settings!.clockSkewMs,
        refreshMs: settings!.jwksRefreshMs,
        minRefetchMs: settings!.jwksMinRefetchMs,
        fetchJwks: () => sso.fetchJwks(),
      },
      logger,
    )
    authenticator.acceptIdpTokens(idpTokens)
  }
  return { authenticator, sessions, sso }
}
