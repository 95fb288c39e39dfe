// auth.oidc read into what the sign-in needs, with the client secret from the environment or its file. The file must
// not be readable by others (0600 or 0400): a secret anyone on the box can read is refused at start, naming the file.
import { readFileSync, statSync } from 'node:fs'
import type { Config } from '../../config/schema.js'
import type { SsoPolicy } from './ssoAccounts.js'

export interface SsoSettings {
  issuer: string
  clientId: string
  /** undefined: a public client (PKCE only). */
  clientSecret: string | undefined
  redirectUrl: string
  scopes: string[]
  policy: SsoPolicy
  /** The aud of IdP access tokens accepted as API credentials. */
  audience: string
  acceptAccessTokens: boolean
  jwksRefreshMs: number
  jwksMinRefetchMs: number
  clockSkewMs: number
}

export class SsoSettingsError extends Error {
  readonly code = 'sso_config_invalid'
}

/** undefined when SSO is off (no issuer). */
export function ssoSettings(config: Config): SsoSettings | undefined {
  const oidc = config.auth.oidc
  if (oidc.issuer === '') return undefined
  if (oidc.client_id === '') throw new SsoSettingsError('auth.oidc.client_id: required when auth.oidc.issuer is set')
  if (oidc.redirect_url === '') {
    throw new SsoSettingsError(
      'auth.oidc.redirect_url: required when auth.oidc.issuer is set (https://<gateway>/auth/v1/oidc/callback)',
    )
  }
  return {
    issuer: oidc.issuer,
    clientId: oidc.client_id,
    clientSecret: oidc.client_secret || readSecret(oidc.client_secret_file),
    redirectUrl: oidc.redirect_url,
    scopes: oidc.scopes.includes('openid') ? oidc.scopes : ['openid', ...oidc.scopes],
    policy: {
      usernameClaims: oidc.username_claims,
      groupsClaim: oidc.groups_claim,
      roleMap: oidc.role_map,
      defaultRole: oidc.default_role,
      allowedDomains: oidc.allowed_domains,
    },
    audience: oidc.audience || oidc.client_id,
    acceptAccessTokens: oidc.accept_access_tokens,
    jwksRefreshMs: oidc.jwks_refresh,
    jwksMinRefetchMs: oidc.jwks_min_refetch,
    clockSkewMs: oidc.clock_skew,
  }
}

function readSecret(file: string): string | undefined {
  if (file === '') return undefined
  let text: string
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new SsoSettingsError(`${file} (auth.oidc.client_secret_file) is readable by others: chmod 600 it`)
    }
    text = readFileSync(file, 'utf8').trim()
  } catch (error) {
    if (error instanceof SsoSettingsError) throw error
    throw new SsoSettingsError(`cannot read ${file} (auth.oidc.client_secret_file): ${(error as Error).message}`)
  }
  if (text === '') throw new SsoSettingsError(`${file} (auth.oidc.client_secret_file) is empty`)
  return text
}
