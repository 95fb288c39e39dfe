// A real OpenID provider (the `oidc-provider` package) on a loopback port, for the SSO tests: accounts whose groups a
// test can change between sign-ins, the development login form driven like a browser would (a cookie jar, redirects
// followed by hand, the form posted), JWT access tokens for an API audience (a second client, as a script would get
// them), RP-initiated logout, and signing-key rotation (the provider restarted on the same address with a new key
// first and the old one still published).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import Provider from 'oidc-provider'
import { Agent, fetch, type RequestInit, type Response } from 'undici'

export interface Account {
  email?: string
  email_verified?: boolean
  name?: string
  groups?: string[]
}

export interface OidcProvider {
  issuer: string
  /** The gateway's client. */
  clientId: string
  clientSecret: string
  /** The API audience the provider puts in JWT access tokens requested for `apiResource`. */
  apiAudience: string
  apiResource: string
  /** Accounts by subject (the login name typed in the form); change them between sign-ins. */
  accounts: Map<string, Account>
  /** Restarts the provider on the same address with a new signing key first (the old one still published). */
  rotateKeys(): Promise<void>
  /** A JWT access token for the API audience, for `subject`, as a script using the second client would get it. */
  apiToken(subject: string): Promise<string>
  /** A JWT signed with the provider's current key (or `alg`/HMAC tricks given in the header), for forged-token tests. */
  signAsProvider(claims: Record<string, unknown>, header?: Record<string, unknown>): string
  /** The provider's current public key as PEM (what an algorithm-confusion attack would use as an HMAC secret). */
  publicKeyPem(): string
  close(): Promise<void>
}

type Jwk = Record<string, unknown>

function signingKey(): Jwk {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }
}

export async function startOidcProvider(
  t: Test,
  options: { redirectUris: string[]; postLogoutRedirectUris: string[] },
): Promise<OidcProvider> {
  const accounts = new Map<string, Account>()
  const clientId = 'parallama-gateway'
  const clientSecret = randomBytes(24).toString('base64url')
  const apiResource = 'http://parallama.test/api'
  const apiAudience = 'parallama-api'
  const scriptRedirect = 'http://127.0.0.1:9/script-callback'
  let keys = [signingKey()]
  let server: Server | undefined
  let port = 0

  const configuration = (): Record<string, unknown> => ({
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        post_logout_redirect_uris: options.postLogoutRedirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: 'script',
        token_endpoint_auth_method: 'none',
        redirect_uris: [scriptRedirect],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys },
    pkce: { required: () => true, methods: ['S256'] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== apiResource) throw new Error('unknown resource')
          return { scope: 'api', audience: apiAudience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }
        },
      },
    },
    // Every scope and claim is granted without a consent page: the tests drive the login form only.
    loadExistingGrant: async (ctx: any) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      })
      grant.addOIDCScope('openid profile email groups')
      grant.addOIDCClaims(['sub', 'name', 'preferred_username', 'email', 'email_verified', 'groups'])
      grant.addResourceScope(apiResource, 'api')
      await grant.save()
      return grant
    },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub)
      if (!account) return undefined
      return {
        accountId: sub,
        claims: () => ({ sub, preferred_username: sub, ...account }),
      }
    },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
  })

  const listen = async (): Promise<void> => {
    const issuer = `http://127.0.0.1:${port}`
    const provider = new Provider(issuer, configuration())
    server = createServer(provider.callback())
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      server?.closeAllConnections()
      server?.close(() => resolve())
    })

  // The issuer must be known before the provider starts: take a free port first.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  await listen()
  t.teardown(stop)
  const issuer = `http://127.0.0.1:${port}`

  return {
    issuer,
    clientId,
    clientSecret,
    apiAudience,
    apiResource,
    accounts,
    async rotateKeys() {
      keys = [signingKey(), ...keys]
      await stop()
      await listen()
    },
    async apiToken(subject) {
      const verifier = randomBytes(32).toString('base64url')
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      const authorize = new URL(`${issuer}/auth`)
      for (const [name, value] of Object.entries({
        client_id: 'script',
        response_type: 'code',
        scope: 'openid api',
        redirect_uri: scriptRedirect,
        resource: apiResource,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        authorize.searchParams.set(name, value)
      const browser = new Browser()
      const landed = await browser.signIn(authorize.href, subject, (url) => url.startsWith(scriptRedirect))
      const code = new URL(landed).searchParams.get('code')!
      const response = await browser.fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: 'script',
          code,
          redirect_uri: scriptRedirect,
          code_verifier: verifier,
          resource: apiResource,
        }),
      })
      const body = (await response.json()) as { access_token?: string }
      if (!body.access_token) throw new Error(`no access token: ${JSON.stringify(body)}`)
      return body.access_token
    },
    signAsProvider(claims, header = {}) {
      const key = keys[0]!
      const head = { alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header }
      const input = `${encode(head)}.${encode(claims)}`
      const signature = sign('sha256', Buffer.from(input), createPrivateKey({ key: key as never, format: 'jwk' }))
      return `${input}.${signature.toString('base64url')}`
    },
    publicKeyPem() {
      return createPublicKey({ key: keys[0]! as never, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString()
    },
    close: stop,
  }
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * A browser, as far as the sign-in needs one: a cookie jar (by host and path, ports shared as browsers do), redirects
 * followed one by one, and the provider's development login form filled in with a login name.
 */
export class Browser {
  private readonly cookies = new Map<string, { value: string; path: string }>()
  /** Its own connections, as a browser has (a provider restarted on the same port is not reached on a dead one). */
  private readonly agent = new Agent({ keepAliveTimeout: 1000 })

  /** A request without the jar (the token endpoint, as a script calls it). */
  fetch(url: string, init: RequestInit): Promise<Response> {
    return fetch(url, { ...init, dispatcher: this.agent })
  }

  /** GET `url`, one hop, cookies sent and kept. */
  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' })
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    })
  }

  /**
   * Follows redirects from `url`, filling in the login form with `login` when it shows, until a location `stop`
   * accepts (returned unvisited) or a page that is not a redirect (an error: thrown with its body).
   */
  async signIn(url: string, login: string, stop: (url: string) => boolean): Promise<string> {
    let next = url
    for (let hop = 0; hop < 20; hop++) {
      if (stop(next)) return next
      const response = await this.get(next)
      const location = response.headers.get('location')
      if (location) {
        next = new URL(location, next).href
        continue
      }
      const page = await response.text()
      const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1]
      if (response.status !== 200 || !action || !page.includes('name="login"')) {
        throw new Error(`sign-in stopped at ${next} (${response.status}): ${page.slice(0, 500)}`)
      }
      const posted = await this.post(new URL(action, next).href, { prompt: 'login', login, password: 'any' })
      const after = posted.headers.get('location')
      if (!after) throw new Error(`the login form answered ${posted.status}: ${(await posted.text()).slice(0, 500)}`)
      next = new URL(after, next).href
    }
    throw new Error('too many redirects')
  }

  /** Forgets every cookie (another browser). */
  clear(): void {
    this.cookies.clear()
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const target = new URL(url)
    const cookie = [...this.cookies]
      .filter(([key, { path }]) => key.startsWith(`${target.hostname}\n`) && target.pathname.startsWith(path))
      .map(([key, { value }]) => `${key.split('\n')[1]}=${value}`)
      .join('; ')
    const headers = { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) }
    const response = await this.fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) this.keep(target, line)
    return response
  }

  private keep(from: URL, line: string): void {
    const [pair, ...attributes] = line.split(';')
    const eq = pair!.indexOf('=')
    const name = pair!.slice(0, eq).trim()
    const value = pair!.slice(eq + 1).trim()
    let path = '/'
    let expired = false
    for (const attribute of attributes) {
      const [key, raw] = attribute.split('=')
      const lower = key!.trim().toLowerCase()
      if (lower === 'path' && raw) path = raw.trim()
      if (lower === 'max-age' && Number(raw) <= 0) expired = true
      if (lower === 'expires' && raw && Date.parse(raw) <= Date.now()) expired = true
    }
    const key = `${from.hostname}\n${name}`
    if (expired) this.cookies.delete(key)
    else this.cookies.set(key, { value, path })
  }
}
