// /auth/v1/oidc: single sign-on. Whether it is on (the dashboard asks before showing its button), the start of a
// sign-in and the provider's callback (both answer redirects), the exchange of the one-time code that hands the
// session to the dashboard or the CLI, and the logout that also ends the provider's session. The flow itself is
// src/auth/sso/ssoLogin.ts; this file reads the requests and shapes the answers.
import type { Authenticate } from '../auth/admit.js'
import type { SsoClient } from '../auth/sso/pendingLogins.js'
import type { SsoLogin, SsoRedirect } from '../auth/sso/ssoLogin.js'
import { GatewayError } from '../errors.js'
import { optionalString, stringField, type JsonHandler, type JsonReply } from './jsonRoute.js'

export function ssoHandlers(sso: SsoLogin | undefined, authenticate: Authenticate): Record<string, JsonHandler> {
  const off = () => new GatewayError('sso_not_configured')
  return {
    oidc_status: () => ({
      status: 200,
      body: sso
        ? { enabled: true, issuer: sso.settings.issuer, login_url: '/auth/v1/oidc/login' }
        : { enabled: false, issuer: null, login_url: null },
    }),
    oidc_login: async ({ request }) => {
      if (!sso) return off()
      const client = clientOf(new URLSearchParams(request.query))
      if (client instanceof GatewayError) return client
      return redirect(await sso.start(client))
    },
    oidc_callback: async ({ request, address }) => {
      if (!sso) return off()
      return redirect(await sso.finish(request.query, request.cookie, { address, requestId: request.requestId }))
    },
    oidc_token: ({ body }) => {
      if (!sso) return off()
      const code = stringField(body, 'code')
      const verifier = optionalString(body, 'code_verifier')
      if (code instanceof GatewayError) return code
      if (verifier instanceof GatewayError) return verifier
      const pair = sso.redeem(code, verifier)
      return pair instanceof GatewayError ? pair : { status: 200, body: pair }
    },
    oidc_logout: ({ body, request, address }) => {
      if (!sso) return off()
      const token = optionalString(body, 'refresh_token')
      if (token instanceof GatewayError) return token
      // The access token presented with the call is revoked too, if it is a valid one of ours.
      const principal = request.credential ? authenticate(request.credential) : undefined
      const caller = principal instanceof GatewayError ? undefined : principal
      if (token === undefined && !caller?.accessToken) {
        return new GatewayError('invalid_request', 'send "refresh_token" in the body, or the access token to revoke')
      }
      const ended = sso.logout(token, caller?.accessToken, caller?.username ?? null, {
        address,
        requestId: request.requestId,
      })
      return ended instanceof GatewayError ? ended : { status: 200, body: ended }
    },
  }
}

/**
 * The dashboard (no parameters), or a CLI waiting on 127.0.0.1:cli_port that sent the S256 challenge of a verifier
 * only it knows (cli_challenge): the session is handed to that port only with that verifier.
 */
function clientOf(query: URLSearchParams): SsoClient | GatewayError {
  const port = query.get('cli_port')
  const challenge = query.get('cli_challenge')
  if (port === null && challenge === null) return { kind: 'dashboard' }
  if (port === null || !/^\d{4,5}$/.test(port) || Number(port) < 1024 || Number(port) > 65535) {
    return new GatewayError(
      'invalid_request',
      '"cli_port" must be the port (1024-65535) the CLI listens on at 127.0.0.1',
    )
  }
  if (challenge === null || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    return new GatewayError(
      'invalid_request',
      '"cli_challenge" must be the S256 challenge of the CLI\'s verifier (43 characters)',
    )
  }
  return { kind: 'cli', port: Number(port), challenge }
}

function redirect(answer: SsoRedirect | GatewayError): JsonReply {
  if (answer instanceof GatewayError) return answer
  return {
    status: 302,
    text: '',
    contentType: 'text/plain; charset=utf-8',
    // The callback's URL holds the provider's code: no Referer carries it on.
    headers: { location: answer.location, 'set-cookie': answer.cookie, 'referrer-policy': 'no-referrer' },
  }
}
