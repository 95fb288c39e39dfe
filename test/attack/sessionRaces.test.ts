// Attack (review 2): a password change made by another process (the CLI on the same SQLite file) while a login or a
// refresh is in flight must not leave a working token behind: the login checked the old password, the refresh read a
// token the change revoked. Interleavings are forced with a gated hasher and a store hook, not timing.
import t from 'tap'
import { GatewayError } from '../../src/errors.js'
import { LoginLimiter } from '../../src/auth/loginLimiter.js'
import type { PasswordHasher } from '../../src/auth/passwords.js'
import { Sessions, type TokenPair } from '../../src/auth/sessions.js'
import { cheapPasswords, inProcessIdentity, type InProcessIdentity } from '../helpers/identity.js'

function sessionsWith(identity: InProcessIdentity, passwords: PasswordHasher): Sessions {
  const limiter = new LoginLimiter({ maxFailures: 1000, maxBackoffMs: 1000, maxEntries: 100 })
  return new Sessions(identity.store.users, identity.store.sessions, identity.tokens, limiter, {
    accessTtlMs: 60_000,
    refreshTtlMs: 3_600_000,
    passwords,
  })
}

/** Whether anything of the pair still works after the change. */
function stillWorks(identity: InProcessIdentity, sessions: Sessions, pair: TokenPair): string[] {
  identity.authenticator.pollChanges()
  const working: string[] = []
  if (!(identity.authenticator.authenticate(pair.access_token) instanceof GatewayError)) working.push('access token')
  if (!(sessions.refresh(pair.refresh_token) instanceof GatewayError)) working.push('refresh token')
  return working
}

t.test('a login that checked the old password while the CLI set a new one gives no working token', async (t) => {
  const identity = inProcessIdentity(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let verifying!: () => void
  const started = new Promise<void>((resolve) => (verifying = resolve))
  const gated: PasswordHasher = {
    ...cheapPasswords,
    verify: async (stored, password) => {
      verifying()
      await gate
      return cheapPasswords.verify(stored, password)
    },
  }
  const sessions = sessionsWith(identity, gated)
  identity.store.users.add({ username: 'rita', role: 'user', passwordHash: await cheapPasswords.hash('old password') })
  const login = sessions.login('rita', 'old password', '127.0.0.1')
  await started
  identity.cli.users.setPassword('rita', await cheapPasswords.hash('new password'))
  release()
  const pair = await login
  if (pair instanceof GatewayError) {
    t.equal(pair.code, 'invalid_credentials', 'refused like a wrong password')
    return
  }
  t.same(stillWorks(identity, sessions, pair), [], 'nothing from the old password works')
})

t.test('a refresh that read its token before the CLI set a new password gives no working token', async (t) => {
  const identity = inProcessIdentity(t)
  const sessions = sessionsWith(identity, cheapPasswords)
  identity.store.users.add({ username: 'rolf', role: 'user', passwordHash: await cheapPasswords.hash('old password') })
  const first = await sessions.login('rolf', 'old password', '127.0.0.1')
  if (first instanceof GatewayError) throw first
  // The other process changes the password right after the refresh has read its token.
  const users = identity.store.users
  const byId = users.byId.bind(users)
  let changed = false
  users.byId = (id: number) => {
    if (!changed) {
      changed = true
      identity.cli.users.setPassword('rolf', 'plain:new password')
    }
    return byId(id)
  }
  const next = sessions.refresh(first.refresh_token)
  users.byId = byId
  t.ok(changed, 'the change happened mid-refresh')
  if (next instanceof GatewayError) {
    t.pass(`refused: ${next.code}`)
    return
  }
  t.same(stillWorks(identity, sessions, next), [], 'nothing from before the change works')
})

t.test('a login racing a disable from another process gives no working token', async (t) => {
  const identity = inProcessIdentity(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const gated: PasswordHasher = {
    ...cheapPasswords,
    verify: async (stored, password) => {
      await gate
      return cheapPasswords.verify(stored, password)
    },
  }
  const sessions = sessionsWith(identity, gated)
  identity.store.users.add({ username: 'dora', role: 'user', passwordHash: await cheapPasswords.hash('old password') })
  const login = sessions.login('dora', 'old password', '127.0.0.1')
  await new Promise((resolve) => setImmediate(resolve))
  identity.cli.users.setActive('dora', false)
  identity.cli.users.setActive('dora', true)
  release()
  const pair = await login
  if (pair instanceof GatewayError) return t.pass(`refused: ${pair.code}`)
  t.same(stillWorks(identity, sessions, pair), [], 'a disable ends tokens for good, also one being made')
})

t.test('parallel refreshes of one token over HTTP: one wins, then the reuse ends the winner too', async (t) => {
  const { startRig } = await import('../helpers/gateway.js')
  const { request } = await import('undici')
  const { hash } = await import('@node-rs/argon2')
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'paula', role: 'user', passwordHash: await hash('correct horse battery') })
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await request(`${rig.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return { status: response.statusCode, body: (await response.body.json()) as any }
  }
  const login = await post('/auth/v1/login', { username: 'paula', password: 'correct horse battery' })
  t.equal(login.status, 200)
  const answers = await Promise.all(
    Array.from({ length: 12 }, () => post('/auth/v1/refresh', { refresh_token: login.body.refresh_token })),
  )
  const winners = answers.filter((answer) => answer.status === 200)
  t.equal(winners.length, 1, 'exactly one refresh wins')
  t.ok(
    answers.every(
      (answer) =>
        answer.status === 200 || ['refresh_token_reused', 'token_revoked'].includes(answer.body.code as string),
    ),
    'the others are reuse (then: a revoked login)',
  )
  const winner = winners[0]!.body
  const me = await request(`${rig.url}/auth/v1/me`, { headers: { authorization: `Bearer ${winner.access_token}` } })
  await me.body.dump()
  t.equal(me.statusCode, 401, "the winner's access token ends with the login")
  const again = await post('/auth/v1/refresh', { refresh_token: winner.refresh_token })
  t.equal(again.status, 401, 'and its refresh token')
  const first = await request(`${rig.url}/auth/v1/me`, {
    headers: { authorization: `Bearer ${login.body.access_token}` },
  })
  await first.body.dump()
  t.equal(first.statusCode, 401, 'and the first access token of the login')
})
