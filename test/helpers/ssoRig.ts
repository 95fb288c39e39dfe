// The gateway with single sign-on in front of a real OpenID provider (test/helpers/oidcProvider.ts): the gateway's
// port is chosen first, since the provider must know the callback and the gateway the issuer before either starts.
import { createServer } from 'node:net'
import type { Test } from 'tap'
import type { AuditEntry } from '../../src/events/auditEntry.js'
import { startRig, type Rig } from './gateway.js'
import { startOidcProvider, type OidcProvider } from './oidcProvider.js'

export interface SsoRig {
  rig: Rig
  provider: OidcProvider
  /** Base URL of the gateway. */
  url: string
  /** What the gateway handed to its audit recorder, in order. */
  /** The newest row of the gateway's audit log with this action, read back as the entry it was recorded from. */
  lastAudit: (action: string) => AuditEntry | undefined
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export async function startSsoRig(t: Test, oidc: Record<string, unknown> = {}): Promise<SsoRig> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const provider = await startOidcProvider(t, {
    redirectUris: [`${url}/auth/v1/oidc/callback`],
    postLogoutRedirectUris: [`${url}/ui/`],
  })
  const rig = await startRig(
    t,
    {
      server: { port },
      auth: {
        oidc: {
          issuer: provider.issuer,
          client_id: provider.clientId,
          redirect_url: `${url}/auth/v1/oidc/callback`,
          scopes: ['openid', 'profile', 'email', 'groups'],
          role_map: { 'llm-admins': 'admin', 'llm-users': 'user', 'llm-viewers': 'readonly' },
          audience: provider.apiAudience,
          ...oidc,
        },
      },
    },
    {},
    { PARALLAMA_AUTH__OIDC__CLIENT_SECRET: provider.clientSecret },
  )
  return { rig, provider, url, lastAudit: (action) => lastAudit(rig, action) }
}

function lastAudit(rig: Rig, action: string): AuditEntry | undefined {
  const row = rig.gateway.audit.list({ action, limit: 1 })[0]
  if (!row) return undefined
  const json = (text: string | null) => (text === null ? null : (JSON.parse(text) as Record<string, unknown>))
  return {
    action: row.action,
    actor: {
      source: row.source as AuditEntry['actor']['source'],
      user: row.actor_user,
      keyId: row.key_id,
      clientIp: row.client_ip,
    },
    target: row.target,
    before: json(row.before),
    after: json(row.after),
    result: row.result as AuditEntry['result'],
    error: row.error,
    requestId: row.request_id,
  }
}
