// Single sign-on against a real OpenID provider (oidc-provider) on loopback, through the real gateway: the dashboard's
// sign-in through every redirect, group-to-role mapping recomputed on each sign-in, refusals (name collision, domain,
// no role, disabled), the state bound to the browser and used once, the CLI's handoff needing its verifier, logout at
// the provider, and the provider's JWT access tokens as API credentials: accepted, mapped to the linked user, followed
// across a key rotation, and refused when forged, expired, for another audience, unsigned or HMAC-confused.
import { createHash, createHmac, randomBytes } from 'node:crypto'
import t from 'tap'
import { ssoLogin } from '../../cli/ssoLogin.js'
import { runCli } from '../helpers/cli.js'
import { Browser } from '../helpers/oidcProvider.js'
import { startSsoRig } from '../helpers/ssoRig.js'

const {
  rig,
  provider,
  url: gatewayUrl,
  lastAudit,
} = await startSsoRig(t, {
  allowed_domains: ['example.com'],
  jwks_min_refetch: '1s',
})
const { store } = rig.gateway

const toDashboard = (url: string) => new URL(url).pathname === '/ui/'

/** Signs `login` in through the dashboard's flow; the fields the gateway put in the /ui/ fragment. */
async function dashboardSignIn(login: string, browser = new Browser()): Promise<URLSearchParams> {
  const landed = await browser.signIn(`${gatewayUrl}/auth/v1/oidc/login`, login, toDashboard)
  return new URLSearchParams(new URL(landed).hash.slice(1))
}

async function exchange(code: string, verifier?: string) {
  const response = await fetch(`${gatewayUrl}/auth/v1/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, ...(verifier ? { code_verifier: verifier } : {}) }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

async function me(token: string) {
  const response = await fetch(`${gatewayUrl}/auth/v1/me`, { headers: { authorization: `Bearer ${token}` } })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

async function signedInPair(login: string) {
  const fields = await dashboardSignIn(login)
  const code = fields.get('sso_code')
  if (!code) throw new Error(`no code: ${fields.toString()}`)
  const { status, body } = await exchange(code)
  if (status !== 200) throw new Error(`exchange ${status}: ${JSON.stringify(body)}`)
  return body as { access_token: string; refresh_token: string }
}

provider.accounts.set('alice', {
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice',
  groups: ['llm-admins'],
})

t.test('the dashboard learns that SSO is on', async (t) => {
  const response = await fetch(`${gatewayUrl}/auth/v1/oidc`)
  t.same(await response.json(), { enabled: true, issuer: provider.issuer, login_url: '/auth/v1/oidc/login' })
})

t.test(
  'the sign-in starts with PKCE (S256), state and nonce, bound to the browser by an HttpOnly cookie',
  async (t) => {
    const response = await new Browser().get(`${gatewayUrl}/auth/v1/oidc/login`)
    t.equal(response.status, 302)
    const to = new URL(response.headers.get('location')!)
    t.equal(to.origin, provider.issuer)
    t.equal(to.searchParams.get('code_challenge_method'), 'S256')
    t.match(to.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
    t.ok(to.searchParams.get('state'))
    t.ok(to.searchParams.get('nonce'))
    t.equal(to.searchParams.get('redirect_uri'), `${gatewayUrl}/auth/v1/oidc/callback`)
    const cookie = response.headers.get('set-cookie')!
    t.match(cookie, /HttpOnly/)
    t.match(cookie, /SameSite=Lax/)
    t.match(cookie, /Path=\/auth\/v1\/oidc\/callback/)
    t.notMatch(cookie, /Secure/, 'plain http here: Secure only behind TLS')
  },
)

t.test('first sign-in creates the user with the role of its groups; the code works once', async (t) => {
  const fields = await dashboardSignIn('alice')
  const code = fields.get('sso_code')!
  t.ok(code, 'a one-time code in the fragment')
  const first = await exchange(code)
  t.equal(first.status, 200)
  t.match(first.body, { token_type: 'Bearer', access_token: /^eyJ/, refresh_token: /^plr_/ })
  const again = await exchange(code)
  t.match(again, { status: 400, body: { code: 'sso_code_invalid' } })
  const who = await me(first.body.access_token)
  t.match(who.body, { username: 'alice', role: 'admin', email: 'alice@example.com', display_name: 'Alice' })
  t.same(store.users.ssoLink(store.users.get('alice').id), { issuer: provider.issuer, subject: 'alice' })
  t.match(lastAudit('login.sso'), {
    action: 'login.sso',
    result: 'ok',
    target: 'user:alice',
    actor: { source: 'sso', user: 'alice' },
  })
})

t.test('the role follows the groups at every sign-in, and is lost with them', async (t) => {
  provider.accounts.set('alice', { email: 'alice@example.com', groups: ['llm-users', 'unmapped'] })
  const pair = await signedInPair('alice')
  t.equal((await me(pair.access_token)).body.role, 'user')
  t.match(lastAudit('login.sso'), { action: 'login.sso', before: { role: 'admin' }, after: { role: 'user' } })
  provider.accounts.set('alice', { email: 'alice@example.com', groups: ['unmapped'] })
  const refused = await dashboardSignIn('alice')
  t.equal(refused.get('sso_error'), 'sso_no_role')
  t.equal(store.users.get('alice').role, 'readonly', 'lowered: live tokens lose their permissions')
  rig.gateway.authenticator.pollChanges()
  t.equal((await me(pair.access_token)).body.role, 'readonly')
  t.match(lastAudit('login.sso'), { action: 'login.sso', result: 'failed', error: 'sso_no_role' })
  provider.accounts.set('alice', { email: 'alice@example.com', groups: ['llm-admins'] })
})

t.test('a name taken by a user not linked to the identity is refused, never handed over', async (t) => {
  store.users.add({ username: 'bob', role: 'admin' })
  provider.accounts.set('bob', { email: 'bob@example.com', groups: ['llm-users'] })
  const fields = await dashboardSignIn('bob')
  t.equal(fields.get('sso_error'), 'sso_user_conflict')
  t.match(fields.get('sso_message'), /bob/)
  t.equal(store.users.ssoLink(store.users.get('bob').id), undefined)
  t.equal(store.users.get('bob').role, 'admin')
})

t.test('an email domain not allowed, and a disabled user, are refused', async (t) => {
  provider.accounts.set('mallory', { email: 'mallory@evil.test', email_verified: true, groups: ['llm-admins'] })
  t.equal((await dashboardSignIn('mallory')).get('sso_error'), 'sso_domain_not_allowed')
  t.equal(store.users.find('mallory'), undefined)
  provider.accounts.set('eve', { email: 'eve@example.com', email_verified: false, groups: ['llm-users'] })
  t.equal(
    (await dashboardSignIn('eve')).get('sso_error'),
    'sso_domain_not_allowed',
    'an unverified email proves nothing',
  )
  store.users.setActive('alice', false)
  t.equal((await dashboardSignIn('alice')).get('sso_error'), 'user_disabled')
  store.users.setActive('alice', true)
})

t.test('the state works once, only in the browser that started it', async (t) => {
  const browser = new Browser()
  const atCallback = (url: string) => new URL(url).pathname === '/auth/v1/oidc/callback'
  const callback = await browser.signIn(`${gatewayUrl}/auth/v1/oidc/login`, 'alice', atCallback)
  const elsewhere = await new Browser().get(callback)
  t.equal(elsewhere.status, 400, 'another browser (no cookie)')
  t.match(await elsewhere.json(), { code: 'sso_state_invalid' })
  const replay = await browser.get(callback)
  t.equal(replay.status, 400, 'the state was taken by the first try: a replay finds nothing')

  const second = await browser.signIn(`${gatewayUrl}/auth/v1/oidc/login`, 'alice', atCallback)
  const done = await browser.get(second)
  t.equal(done.status, 302)
  t.match(done.headers.get('set-cookie'), /Max-Age=0/, 'the binding cookie is cleared')
  t.equal((await browser.get(second)).status, 400, 'a finished sign-in cannot be replayed')
  const forged = new URL(second)
  forged.searchParams.set('state', randomBytes(24).toString('base64url'))
  t.equal((await browser.get(forged.href)).status, 400, 'a made-up state')
})

t.test("a code from another sign-in fails at the provider's PKCE check", async (t) => {
  const browser = new Browser()
  const atCallback = (url: string) => new URL(url).pathname === '/auth/v1/oidc/callback'
  const first = new URL(await browser.signIn(`${gatewayUrl}/auth/v1/oidc/login`, 'alice', atCallback))
  const second = new URL(await browser.signIn(`${gatewayUrl}/auth/v1/oidc/login`, 'alice', atCallback))
  first.searchParams.set('code', second.searchParams.get('code')!)
  const swapped = await browser.get(first.href)
  t.equal(swapped.status, 302)
  const fields = new URLSearchParams(new URL(swapped.headers.get('location')!, gatewayUrl).hash.slice(1))
  t.equal(fields.get('sso_error'), 'sso_failed')
})

t.test('the CLI handoff goes to its loopback port and needs its verifier', async (t) => {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const start = `${gatewayUrl}/auth/v1/oidc/login?cli_port=45678&cli_challenge=${challenge}`
  const atCli = (url: string) => url.startsWith('http://127.0.0.1:45678/callback')
  const landed = new URL(await new Browser().signIn(start, 'alice', atCli))
  const code = landed.searchParams.get('sso_code')!
  t.match(await exchange(code), { status: 400, body: { code: 'sso_code_invalid' } }, 'without the verifier')
  const next = new URL(await new Browser().signIn(start, 'alice', atCli)).searchParams.get('sso_code')!
  t.match(await exchange(next, randomBytes(32).toString('base64url')), { status: 400 }, 'with another verifier')
  const last = new URL(await new Browser().signIn(start, 'alice', atCli)).searchParams.get('sso_code')!
  t.match(await exchange(last, verifier), { status: 200, body: { access_token: /^eyJ/ } })
  const bad = await fetch(`${gatewayUrl}/auth/v1/oidc/login?cli_port=80&cli_challenge=${challenge}`)
  t.match(await bad.json(), { code: 'invalid_request', detail: /cli_port/ })
})

t.test('parallama login --sso: the browser brings the code to the CLI on loopback, which redeems it', async (t) => {
  const browser = new Browser()
  let visited: Promise<unknown> = Promise.resolve()
  const pair = await ssoLogin(gatewayUrl, {
    timeoutMs: 60_000,
    announce: (address) => {
      t.match(address, /\/auth\/v1\/oidc\/login\?cli_port=\d+&cli_challenge=[A-Za-z0-9_-]{43}$/)
      const atCli = (url: string) => new URL(url).pathname === '/callback'
      visited = browser.signIn(address, 'alice', atCli).then((landed) => browser.get(landed))
    },
  })
  t.equal(((await visited) as Response).status, 200, 'the CLI answered the browser')
  t.match((await me(pair.access_token)).body, { username: 'alice' })
  const refused = await runCli(['login'])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /--sso/)
})

t.test("logout ends the local login and points at the provider's end_session_endpoint", async (t) => {
  const pair = await signedInPair('alice')
  const response = await fetch(`${gatewayUrl}/auth/v1/oidc/logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${pair.access_token}` },
    body: JSON.stringify({ refresh_token: pair.refresh_token }),
  })
  const body = (await response.json()) as { logged_out: boolean; end_session_url: string }
  t.equal(body.logged_out, true)
  const end = new URL(body.end_session_url)
  t.equal(end.origin + end.pathname, `${provider.issuer}/session/end`)
  t.match(end.searchParams.get('id_token_hint'), /^eyJ/)
  t.equal(end.searchParams.get('post_logout_redirect_uri'), `${gatewayUrl}/ui/`)
  const page = await new Browser().get(body.end_session_url)
  t.equal(page.status, 200, 'the provider accepts the hint and asks to confirm')
  t.equal((await me(pair.access_token)).status, 401, 'the access token is revoked')
  const refresh = await fetch(`${gatewayUrl}/auth/v1/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: pair.refresh_token }),
  })
  t.equal(refresh.status, 401)
  t.match(lastAudit('logout'), { action: 'logout', result: 'ok', actor: { source: 'sso', user: 'alice' } })
})

t.test("the provider's access tokens are API credentials for the linked user", async (t) => {
  const token = await provider.apiToken('alice')
  const who = await me(token)
  t.match(who, { status: 200, body: { username: 'alice', role: 'admin' } })
  const tags = await fetch(`${gatewayUrl}/api/tags`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(tags.status, 200)
  provider.accounts.set('dave', { email: 'dave@example.com', groups: ['llm-users'] })
  const unlinked = await me(await provider.apiToken('dave'))
  t.match(unlinked, { status: 401, body: { code: 'invalid_token', detail: /sign in once/ } })
})

t.test('forged, expired, foreign and unsigned tokens are refused', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const good = { iss: provider.issuer, sub: 'alice', aud: provider.apiAudience, exp: now + 300, iat: now }
  t.equal((await me(provider.signAsProvider(good))).status, 200, 'the baseline passes')
  const cases: [string, string, RegExp][] = [
    ['wrong audience', provider.signAsProvider({ ...good, aud: 'someone-else' }), /issuer or audience/],
    ['expired', provider.signAsProvider({ ...good, exp: now - 3600 }), /expired/],
    ['not yet valid', provider.signAsProvider({ ...good, nbf: now + 3600 }), /not valid yet/],
    ['an ID token', provider.signAsProvider({ ...good, nonce: 'n' }), /ID token/],
    ['no sub', provider.signAsProvider({ ...good, sub: undefined }), /missing claim|no sub/],
  ]
  const [head, payload] = provider.signAsProvider(good).split('.')
  const tampered = Buffer.from(JSON.stringify({ ...good, sub: 'bob' })).toString('base64url')
  cases.push([
    'tampered payload',
    `${head}.${tampered}.${provider.signAsProvider(good).split('.')[2]}`,
    /bad signature/,
  ])
  const kid = JSON.parse(Buffer.from(head!, 'base64url').toString()).kid
  const none = Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')
  cases.push(['alg none', `${none}.${payload}.`, /algorithm|malformed/])
  const hs = Buffer.from(JSON.stringify({ alg: 'HS256', kid })).toString('base64url')
  const hmac = createHmac('sha256', provider.publicKeyPem()).update(`${hs}.${payload}`).digest('base64url')
  cases.push(['HS256 keyed with the public key', `${hs}.${payload}.${hmac}`, /algorithm/])
  for (const [name, token, detail] of cases) {
    const answer = await me(token)
    t.equal(answer.status, 401, name)
    t.match(answer.body.detail, detail, name)
  }
  const otherIssuer = provider.signAsProvider({ ...good, iss: 'http://127.0.0.1:1' })
  t.match(
    await me(otherIssuer),
    { status: 401, body: { code: 'invalid_token' } },
    'another issuer is not ours to check',
  )
})

t.test('a new signing key at the provider is followed (the keys are read again)', async (t) => {
  await provider.rotateKeys()
  const token = await provider.apiToken('alice')
  const idp = rig.gateway.authenticator.idpTokens!
  let answer = await me(token)
  // At most a few refusals while the keys are read again (a read at most every jwks_min_refetch).
  for (let tries = 0; answer.status !== 200 && tries < 20; tries++) {
    t.match(answer.body.detail, /retry/)
    await idp.settled
    await new Promise((resolve) => setTimeout(resolve, 250))
    answer = await me(token)
  }
  t.match(answer, { status: 200, body: { username: 'alice' } })
})

t.test('no token, code or secret reaches the logs', async (t) => {
  const joined = rig.logs.join('\n')
  t.notMatch(joined, provider.clientSecret)
  t.notMatch(joined, /eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\./)
  t.notMatch(joined, /sso_code=/)
})
