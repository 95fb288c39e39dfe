// The CLI's single sign-on (RFC 8252, loopback redirect): listen on 127.0.0.1 at a random port, have the user open
// the gateway's sign-in address in a browser, and take the one-time code the gateway sends back to that port once the
// identity provider is done. The code is redeemed with a verifier only this process knows (its S256 challenge went
// with the start), so a code seen by anyone else is worth nothing. The provider only ever sees the gateway's own
// registered callback: nothing about the CLI needs registering at the provider.
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { CliError } from './output.js'

export interface SessionPair {
  access_token: string
  token_type: string
  expires_in: number
  refresh_token: string
  refresh_expires_in: number
}

export interface SsoLoginOptions {
  /** Shown the address to open (printed for the user; tests drive a browser to it). */
  announce: (url: string) => void
  /** How long to wait for the browser (ms). */
  timeoutMs: number
}

/** Signs in through the gateway at `gatewayUrl` with SSO; resolves with the gateway's session pair. */
export async function ssoLogin(gatewayUrl: string, options: SsoLoginOptions): Promise<SessionPair> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const answer = listenForCode(options.timeoutMs)
  const port = await answer.port
  const start = new URL('/auth/v1/oidc/login', gatewayUrl)
  start.searchParams.set('cli_port', String(port))
  start.searchParams.set('cli_challenge', challenge)
  options.announce(start.href)
  const code = await answer.code
  const response = await request(new URL('/auth/v1/oidc/token', gatewayUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, code_verifier: verifier }),
  })
  const body = (await response.body.json()) as Record<string, unknown>
  if (response.statusCode !== 200) {
    throw new CliError(`the gateway refused the sign-in: ${String(body.code)}: ${String(body.detail)}`)
  }
  return body as unknown as SessionPair
}

/** A one-shot listener on 127.0.0.1: its port, and the code (or the gateway's refusal) the browser brings. */
function listenForCode(timeoutMs: number): { port: Promise<number>; code: Promise<string> } {
  let settle!: { resolve: (code: string) => void; reject: (error: Error) => void }
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }))
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const given = url.searchParams.get('sso_code')
    const refused = url.searchParams.get('sso_error')
    // Anything else reaching the port (a favicon, a stray request) is not the answer.
    if (url.pathname !== '/callback' || (given === null && refused === null)) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    res.end(given ? 'Signed in to Parallama. You can close this window.\n' : `Sign-in refused: ${refused}\n`)
    if (given) settle.resolve(given)
    else settle.reject(new CliError(`sign-in refused: ${refused}: ${url.searchParams.get('sso_message') ?? ''}`))
  })
  const timer = setTimeout(
    () => settle.reject(new CliError(`no sign-in within ${Math.round(timeoutMs / 1000)} s; run the command again`)),
    timeoutMs,
  )
  const done = () => {
    clearTimeout(timer)
    server.closeAllConnections()
    server.close()
  }
  code.then(done, done)
  const port = new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
  return { port, code }
}
