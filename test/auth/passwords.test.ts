// Passwords (issue 11, #13): argon2id at OWASP's minimum or above, set in one place; the decoy for unknown users has
// the same parameters; a hash with weaker parameters is replaced at the next successful login, and only then.
import { hash, parseOptions } from '@node-rs/argon2'
import t from 'tap'
import { LoginLimiter } from '../../src/auth/loginLimiter.js'
import {
  decoyHash,
  hashPassword,
  needsRehash,
  passwordHashOptions,
  passwordProblem,
  verifyPassword,
} from '../../src/auth/passwords.js'
import { Sessions } from '../../src/auth/sessions.js'
import { GatewayError } from '../../src/errors.js'
import { inProcessIdentity } from '../helpers/identity.js'

const owasp = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

t.test('new hashes and the decoy: argon2id, at least 19 MiB, 2 passes, 1 lane', async (t) => {
  t.ok(passwordHashOptions.memoryCost >= owasp.memoryCost && passwordHashOptions.timeCost >= owasp.timeCost)
  for (const made of [await hashPassword('correct horse'), await decoyHash()]) {
    t.match(parseOptions(made), { ...passwordHashOptions, algorithm: 2 })
    t.notOk(needsRehash(made))
  }
  t.ok(await verifyPassword(await hashPassword('correct horse'), 'correct horse'))
  t.notOk(await verifyPassword('not a hash', 'x'), 'a stored value that is no hash verifies nothing')
  t.ok(needsRehash(await hash('x', { memoryCost: 4096, timeCost: 3 })), 'the old 4 MiB default is weaker')
  t.ok(needsRehash(await hash('x', { ...passwordHashOptions, algorithm: 1 as never })), 'argon2i is not argon2id')
  t.ok(needsRehash('$2b$10$bcrypt'), 'anything else is re-hashed')
  t.match(passwordProblem('short'), /at least 8/)
  t.match(passwordProblem('x'.repeat(1025)), /at most 1024/)
  t.equal(passwordProblem('long enough'), undefined)
})

t.test('a weaker hash is replaced at the next successful login, keeping the user logged in', async (t) => {
  const identity = inProcessIdentity(t)
  const weak = await hash('old params pw', { memoryCost: 4096, timeCost: 3, parallelism: 1 })
  identity.store.users.add({ username: 'olga', role: 'user', passwordHash: weak })
  // The real argon2id hasher this time.
  const sessions = new Sessions(
    identity.store.users,
    identity.store.sessions,
    identity.tokens,
    new LoginLimiter({ maxFailures: 5, maxBackoffMs: 60_000 }),
    { accessTtlMs: 60_000, refreshTtlMs: 3_600_000 },
  )
  t.type(await sessions.login('olga', 'wrong password', '10.0.0.1'), GatewayError)
  t.equal(identity.store.users.get('olga').passwordHash, weak, 'a failed login changes nothing')
  const pair = await sessions.login('olga', 'old params pw', '10.0.0.1')
  t.notOk(pair instanceof GatewayError, 'logged in')
  const upgraded = identity.store.users.get('olga').passwordHash!
  t.not(upgraded, weak)
  t.match(parseOptions(upgraded), passwordHashOptions, 'now with the current parameters')
  t.ok(await verifyPassword(upgraded, 'old params pw'), 'of the same password')
  identity.authenticator.pollChanges()
  t.notOk(
    identity.authenticator.authenticate((pair as { access_token: string }).access_token) instanceof GatewayError,
    'the upgrade does not end the login it happened in',
  )
  t.notOk((await sessions.login('olga', 'old params pw', '10.0.0.1')) instanceof GatewayError, 'and logins go on')
  t.equal(identity.store.users.get('olga').passwordHash, upgraded, 'a current hash is left alone')
})
