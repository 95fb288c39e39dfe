// Single sign-on through an OpenID provider: the authorization code flow with PKCE, state and nonce (openid-client
// does the protocol: discovery, the token request, the ID token's signature, iss, aud, nonce and expiry). A sign-in
// starts at /auth/v1/oidc/login, is bound to the browser by a cookie, comes back to /auth/v1/oidc/callback, and ends
// with the gateway's own login session (the pair a password login gives) handed to the client that started it by a
// one-time code: the dashboard in its URL fragment, the CLI on its loopback listener (RFC 8252). Logout ends the
// local login and, when the provider has an end_session_endpoint, sends the browser there with the ID token as hint.
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  buildEndSessionUrl,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  discovery,
  fetchUserInfo,
  None,
  randomPKCECodeVerifier,
  type Configuration,
} from 'openid-client'
import { LRUCache } from 'lru-cache'
import { GatewayError, type ErrorCode } from '../../errors.js'
import type { AuditRecorder } from '../../events/auditEntry.js'
import type { Logger } from '../../logger.js'
import type { User, UserStore } from '../../store/users.js'
import { userAuditFields } from '../../admin/users.js'
import type { AccessClaims } from '../accessTokens.js'
import type { Sessions, TokenPair } from '../sessions.js'
import { HandoffCodes } from './handoffCodes.js'
import { PendingLogins, type SsoClient } from './pendingLogins.js'
import { signInAccount, type Claims } from './ssoAccounts.js'
import type { SsoSettings } from './ssoSettings.js'

export interface SsoDependencies {
  users: UserStore
  sessions: Sessions
  logger: Logger
  audit: AuditRecorder
  /** How long a refresh token lives: the ID token kept for logout is kept as long. */
  refreshTtlMs: number
  now?: () => number
}

/** An answer that sends the browser on: to the provider, back to the dashboard or to the CLI's listener. */
export interface SsoRedirect {
  location: string
  /** A Set-Cookie header value. */
  cookie: string
}

/** Where a request came from, for the audit entry. */
export interface SsoCaller {
  address: string
  requestId: string
}

const pendingTtlMs = 10 * 60_000
const handoffTtlMs = 60_000
const cookiePrefix = 'parallama_sso_'
const callbackPath = '/auth/v1/oidc/callback'

export class SsoLogin {
  private readonly pending: PendingLogins
  private readonly handoffs: HandoffCodes<TokenPair>
  /** Login id -> the ID token of its sign-in, for the logout's id_token_hint (lost on restart: then client_id). */
  private readonly idTokens: LRUCache<string, string>
  private discovered: Promise<Configuration> | undefined
  private configuration: Configuration | undefined

  constructor(
    readonly settings: SsoSettings,
    private readonly deps: SsoDependencies,
  ) {
    const now = deps.now ?? Date.now
    this.pending = new PendingLogins(pendingTtlMs, now)
    this.handoffs = new HandoffCodes(handoffTtlMs, now)
    this.idTokens = new LRUCache({ max: 100_000, ttl: deps.refreshTtlMs })
  }

  /** The provider's configuration (discovery), read once; a failed read is tried again by the next caller. */
  discover(): Promise<Configuration> {
    this.discovered ??= this.readDiscovery().then(
      (configuration) => (this.configuration = configuration),
      (error: unknown) => {
        this.discovered = undefined
        throw error
      },
    )
    return this.discovered
  }

  /** The provider's JWKS document (for IdP access tokens), from discovery's jwks_uri. */
  async fetchJwks(): Promise<unknown> {
    const jwksUri = (await this.discover()).serverMetadata().jwks_uri
    if (!jwksUri) throw new Error('the provider publishes no jwks_uri')
    const response = await fetch(jwksUri, { signal: AbortSignal.timeout(10_000), redirect: 'error' })
    if (!response.ok) throw new Error(`${jwksUri} answered ${response.status}`)
    return response.json()
  }

  /** Begins a sign-in: the provider's authorization URL to send the browser to, and the cookie binding it. */
  async start(client: SsoClient): Promise<SsoRedirect | GatewayError> {
    const configuration = await this.available()
    if (configuration instanceof GatewayError) return configuration
    const started = this.pending.start(client, randomPKCECodeVerifier())
    const url = buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes.join(' '),
      response_type: 'code',
      state: started.state,
      nonce: started.nonce,
      code_challenge: await calculatePKCECodeChallenge(started.codeVerifier),
      code_challenge_method: 'S256',
    })
    return {
      location: url.href,
      cookie: this.cookie(cookieName(started.state), started.binding, pendingTtlMs / 1000),
    }
  }

  /**
   * The provider's answer at the callback. An unknown, replayed, expired or foreign state is refused here (400); any
   * later failure goes back to the client that started the sign-in, with its code, so it can say what happened.
   */
  async finish(query: string, cookies: string | undefined, caller: SsoCaller): Promise<SsoRedirect | GatewayError> {
    const params = new URLSearchParams(query)
    const state = params.get('state') ?? ''
    const name = cookieName(state)
    const pending = state === '' ? undefined : this.pending.take(state, cookieValue(cookies, name))
    if (!pending) {
      this.audit(caller, null, 'sso_state_invalid')
      return new GatewayError('sso_state_invalid')
    }
    const clear = this.cookie(name, '', 0)
    const back = (result: { code: string } | { error: GatewayError }): SsoRedirect => ({
      location: handBack(pending.client, result),
      cookie: clear,
    })
    const configuration = await this.available()
    if (configuration instanceof GatewayError) return back({ error: this.failed(caller, null, configuration) })
    const signedIn = await this.signIn(configuration, params, pending, caller)
    if (signedIn instanceof GatewayError) return back({ error: this.failed(caller, null, signedIn) })
    const { pair, username, previousRole, role } = signedIn
    this.deps.audit.record({
      action: 'login.sso',
      actor: { source: 'sso', user: username, keyId: null, clientIp: caller.address },
      target: `user:${username}`,
      before: previousRole ? { role: previousRole } : null,
      after: previousRole ? { role } : null,
      result: 'ok',
      requestId: caller.requestId,
    })
    return back({ code: this.handoffs.issue(pair, pending.client) })
  }

  /** The session pair a handoff code stands for (once); a CLI's code also needs its PKCE verifier. */
  redeem(code: string, verifier: string | undefined): TokenPair | GatewayError {
    return this.handoffs.redeem(code, verifier) ?? new GatewayError('sso_code_invalid')
  }

  /**
   * Ends the local login of `refreshToken` (and the access token, if given), and says where to send the browser to
   * end the provider's session too: its end_session_endpoint with the sign-in's ID token as hint, if it has one.
   */
  logout(
    refreshToken: string | undefined,
    access: AccessClaims | undefined,
    username: string | null,
    caller: SsoCaller,
  ): { logged_out: true; end_session_url: string | null } | GatewayError {
    const loginId = (refreshToken && this.deps.sessions.loginOf(refreshToken)) || access?.loginId
    const failed = this.deps.sessions.logout(refreshToken, access)
    this.deps.audit.record({
      action: 'logout',
      actor: { source: 'sso', user: username, keyId: null, clientIp: caller.address },
      target: username ? `user:${username}` : null,
      result: failed ? 'failed' : 'ok',
      error: failed?.code ?? null,
      requestId: caller.requestId,
    })
    if (failed) return failed
    const idToken = loginId ? this.idTokens.get(loginId) : undefined
    if (loginId) this.idTokens.delete(loginId)
    return { logged_out: true, end_session_url: this.endSessionUrl(idToken) }
  }

  private endSessionUrl(idToken: string | undefined): string | null {
    const configuration = this.configuration
    if (!configuration?.serverMetadata().end_session_endpoint) return null
    const back = new URL('/ui/', this.settings.redirectUrl).href
    const hint: Record<string, string> = idToken ? { id_token_hint: idToken } : { client_id: this.settings.clientId }
    return buildEndSessionUrl(configuration, { ...hint, post_logout_redirect_uri: back }).href
  }

  private async signIn(
    configuration: Configuration,
    params: URLSearchParams,
    pending: PendingLoginLike,
    caller: SsoCaller,
  ) {
    const error = params.get('error')
    if (error !== null) {
      const said = printable(`${error}${params.has('error_description') ? `: ${params.get('error_description')}` : ''}`)
      return new GatewayError('sso_failed', `the identity provider refused the sign-in (${said})`)
    }
    let tokens: Awaited<ReturnType<typeof authorizationCodeGrant>>
    try {
      const current = new URL(this.settings.redirectUrl)
      current.search = params.toString()
      tokens = await authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: params.get('state')!,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      })
    } catch (failure) {
      this.deps.logger.warn('SSO sign-in failed at the token exchange', { err: failure })
      return new GatewayError(
        'sso_failed',
        `the sign-in could not be completed: ${printable((failure as Error).message)}`,
      )
    }
    const idClaims = tokens.claims()!
    const claims = await this.withUserInfo(configuration, tokens.access_token, idClaims)
    const link = { issuer: idClaims.iss, subject: idClaims.sub }
    const before = this.deps.users.findBySso(link)
    const account = signInAccount(this.deps.users, link, claims, this.settings.policy)
    // A refused sign-in may have changed the user too (lowered to readonly): recorded either way.
    this.recordUserChange(before, this.deps.users.findBySso(link), caller)
    if (account instanceof GatewayError) return account
    const started = this.deps.sessions.startLogin(account.user)
    if (started instanceof GatewayError) return started
    if (tokens.id_token) this.idTokens.set(started.loginId, tokens.id_token)
    return {
      pair: started.pair,
      username: account.user.username,
      role: account.user.role,
      previousRole: account.previousRole,
    }
  }

  /** The ID token's claims, with the userinfo endpoint's beside them (many providers put groups and email only there). */
  private async withUserInfo(configuration: Configuration, accessToken: string, claims: Claims): Promise<Claims> {
    if (!configuration.serverMetadata().userinfo_endpoint) return claims
    try {
      const info = await fetchUserInfo(configuration, accessToken, claims.sub as string)
      return { ...info, ...claims }
    } catch (failure) {
      this.deps.logger.warn('SSO userinfo could not be read; using the ID token alone', { err: failure })
      return claims
    }
  }

  private async available(): Promise<Configuration | GatewayError> {
    try {
      return await this.discover()
    } catch (failure) {
      this.deps.logger.warn('SSO discovery failed', { err: failure, issuer: this.settings.issuer })
      return new GatewayError(
        'sso_unavailable',
        `the identity provider's discovery document could not be read (${this.settings.issuer})`,
      )
    }
  }

  private readDiscovery(): Promise<Configuration> {
    const { issuer, clientId, clientSecret } = this.settings
    const url = new URL(issuer)
    // Plain http only to a provider on this box (tests, a local IdP); anything else must be https.
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
    return discovery(url, clientId, undefined, clientSecret ? ClientSecretBasic(clientSecret) : None(), {
      execute: loopback ? [allowInsecureRequests] : [],
      timeout: 10,
    })
  }

  /**
   * The change a sign-in made to its user, as the admin API's rows say it: a user created at first sign-in, or its
   * role brought in line with its groups (raised, lowered, or taken to readonly when none maps).
   */
  private recordUserChange(before: User | undefined, after: User | undefined, caller: SsoCaller): void {
    if (after === undefined || (before !== undefined && before.role === after.role)) return
    this.deps.audit.record({
      action: before === undefined ? 'user.create' : 'user.update',
      actor: { source: 'sso', user: after.username, keyId: null, clientIp: caller.address },
      target: `user:${after.username}`,
      before: before === undefined ? null : { role: before.role },
      after: before === undefined ? userAuditFields(after) : { role: after.role },
      result: 'ok',
      requestId: caller.requestId,
    })
  }

  private failed(caller: SsoCaller, username: string | null, error: GatewayError): GatewayError {
    this.audit(caller, username, error.code)
    return error
  }

  private audit(caller: SsoCaller, username: string | null, code: ErrorCode): void {
    this.deps.audit.record({
      action: 'login.sso',
      actor: { source: 'sso', user: username, keyId: null, clientIp: caller.address },
      target: username ? `user:${username}` : null,
      result: 'failed',
      error: code,
      requestId: caller.requestId,
    })
  }

  private cookie(name: string, value: string, maxAgeSeconds: number): string {
    const secure = this.settings.redirectUrl.startsWith('https:') ? '; Secure' : ''
    return `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=${callbackPath}; HttpOnly; SameSite=Lax${secure}`
  }
}

type PendingLoginLike = { codeVerifier: string; nonce: string }

/** One cookie per sign-in, so two tabs signing in at once do not undo each other. */
function cookieName(state: string): string {
  return cookiePrefix + state.slice(0, 16).replace(/[^A-Za-z0-9_-]/g, '')
}

/** A cookie's value from a Cookie header ("a=1; b=2"), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Where the browser goes when the sign-in is over: the dashboard (fragment) or the CLI's loopback listener (query). */
function handBack(client: SsoClient, result: { code: string } | { error: GatewayError }): string {
  const fields: Record<string, string> =
    'code' in result ? { sso_code: result.code } : { sso_error: result.error.code, sso_message: result.error.message }
  const encoded = new URLSearchParams(fields).toString()
  return client.kind === 'dashboard' ? `/ui/#${encoded}` : `http://127.0.0.1:${client.port}/callback?${encoded}`
}

/** Text from the provider, safe to put in a message: printable ASCII, bounded. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300)
}
