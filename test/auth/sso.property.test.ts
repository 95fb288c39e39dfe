// The pure parts of single sign-on, as invariants: the role is the highest one the groups map to (else the default),
// whatever their order; a username taken from claims is always a valid one; an identity only ever reaches the user
// linked to it, and a local user is never linked by name; a pending sign-in and a handoff code work once, for the
// browser or CLI that holds their secret, before they expire; unknown key ids read the provider's keys at a bounded
// rate.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { roles, type Role } from '../../src/auth/permissions.js'
import { HandoffCodes } from '../../src/auth/sso/handoffCodes.js'
import { IdpTokens } from '../../src/auth/sso/idpTokens.js'
import { PendingLogins } from '../../src/auth/sso/pendingLogins.js'
import { roleFromGroups, signInAccount, usernameFrom, type SsoPolicy } from '../../src/auth/sso/ssoAccounts.js'
import { GatewayError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { openStore } from '../../src/store/store.js'
import { usernamePattern } from '../../src/store/users.js'
import { holds } from '../helpers/fuzz.js'

const groupNames = ['a', 'b', 'c', 'd', 'e', '__proto__', 'constructor']
const roleMapArb = fc.dictionary(fc.constantFrom(...groupNames.slice(0, 5)), fc.constantFrom(...roles))
const policyArb = fc.record({
  roleMap: roleMapArb,
  defaultRole: fc.constantFrom<Role | 'none'>('none', ...roles),
})

function policy(fields: { roleMap: Record<string, Role>; defaultRole: Role | 'none' }): SsoPolicy {
  return { usernameClaims: ['preferred_username', 'email'], groupsClaim: 'groups', allowedDomains: [], ...fields }
}

t.test('the role is the highest mapped one, else the default, in any order', async (t) => {
  await holds(
    t,
    'sso role from groups',
    fc.property(policyArb, fc.array(fc.constantFrom(...groupNames)), (fields, groups) => {
      const mapped = groups
        .filter((group) => Object.hasOwn(fields.roleMap, group))
        .map((group) => fields.roleMap[group]!)
      const expected = mapped.length
        ? roles.find((role) => mapped.includes(role))
        : fields.defaultRole === 'none'
          ? undefined
          : fields.defaultRole
      const reversed = [...groups].reverse()
      return (
        roleFromGroups(groups, policy(fields)) === expected && roleFromGroups(reversed, policy(fields)) === expected
      )
    }),
    2000,
  )
})

t.test('a username from claims is a valid username, or none', async (t) => {
  const claim = fc.oneof(fc.string(), fc.emailAddress(), fc.constantFrom('alice', 'a@b', '@x', 'ü@x', ''), fc.integer())
  await holds(
    t,
    'sso username from claims',
    fc.property(fc.record({ preferred_username: claim, email: claim }), (claims) => {
      const name = usernameFrom(claims, ['preferred_username', 'email'])
      return name === undefined || usernamePattern.test(name)
    }),
    3000,
  )
})

t.test('an identity reaches only its linked user; a local user is never linked by name', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-sso-')), 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  const names = ['ann', 'ben', 'cat', 'dan']
  for (const name of names.slice(0, 2)) store.users.add({ username: name, role: 'admin' })
  const linkedTo = new Map<string, number>()
  const step = fc.record({
    subject: fc.constantFrom('s1', 's2', 's3', 's4', 's5'),
    name: fc.constantFrom(...names),
    groups: fc.array(fc.constantFrom('a', 'b', 'c')),
  })
  await holds(
    t,
    'sso account linking',
    fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
      for (const { subject, name, groups } of steps) {
        const link = { issuer: 'https://idp.test', subject }
        const rules = policy({ roleMap: { a: 'admin', b: 'user' }, defaultRole: 'none' })
        const result = signInAccount(store.users, link, { preferred_username: name, groups }, rules)
        const role = roleFromGroups(groups, rules)
        if (result instanceof GatewayError) {
          if (role !== undefined && result.code !== 'sso_user_conflict') return false
        } else {
          if (result.user.role !== role) return false
          const before = linkedTo.get(subject)
          if (before !== undefined && before !== result.user.id) return false
          linkedTo.set(subject, result.user.id)
        }
        // The local users made before any sign-in stay unlinked and keep their role.
        for (const local of ['ann', 'ben']) {
          const user = store.users.get(local)
          if (store.users.ssoLink(user.id) !== undefined || user.role !== 'admin') return false
        }
      }
      return true
    }),
    300,
  )
})

t.test('a pending sign-in works once, with its binding, before it expires', async (t) => {
  await holds(
    t,
    'sso pending logins',
    fc.property(fc.nat(20 * 60_000), fc.boolean(), (elapsed, rightBinding) => {
      let now = 1_000_000
      const pending = new PendingLogins(600_000, () => now)
      const started = pending.start({ kind: 'dashboard' }, 'verifier')
      now += elapsed
      const binding = rightBinding ? started.binding : randomBytes(24).toString('base64url')
      const taken = pending.take(started.state, binding)
      const shouldWork = rightBinding && elapsed < 600_000
      return (taken !== undefined) === shouldWork && pending.take(started.state, started.binding) === undefined
    }),
    2000,
  )
})

t.test('a handoff code works once; a CLI code only with its verifier', async (t) => {
  await holds(
    t,
    'sso handoff codes',
    fc.property(fc.nat(120_000), fc.constantFrom('right', 'wrong', 'none'), fc.boolean(), (elapsed, given, cli) => {
      let now = 0
      const codes = new HandoffCodes<string>(60_000, () => now)
      const verifier = randomBytes(32).toString('base64url')
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      const code = codes.issue('pair', cli ? { kind: 'cli', port: 40000, challenge } : { kind: 'dashboard' })
      now += elapsed
      const presented =
        given === 'right' ? verifier : given === 'wrong' ? randomBytes(32).toString('base64url') : undefined
      const shouldWork = elapsed < 60_000 && (!cli || given === 'right')
      return (codes.redeem(code, presented) === 'pair') === shouldWork && codes.redeem(code, presented) === undefined
    }),
    2000,
  )
})

t.test("unknown key ids read the provider's keys at most once per jwks_min_refetch", async (t) => {
  let now = 0
  let reads = 0
  const idp = new IdpTokens(
    {
      issuer: 'https://idp.test',
      audience: 'api',
      clockSkewMs: 0,
      refreshMs: 3_600_000,
      minRefetchMs: 10_000,
      fetchJwks: async () => {
        reads++
        return { keys: [] }
      },
      now: () => now,
    },
    createLogger('error', () => {}),
  )
  await idp.start()
  idp.stop()
  t.equal(reads, 1, 'read once at start')
  const header = (kid: string) => Buffer.from(JSON.stringify({ alg: 'RS256', kid })).toString('base64url')
  for (let i = 0; i < 100; i++) {
    const refused = idp.verify(`${header(`kid-${i}`)}.e30.sig`)
    t.ok(refused instanceof GatewayError && /retry/.test(refused.message))
    await idp.settled
  }
  t.equal(reads, 1, 'a flood of made-up key ids within the interval reads nothing more')
  now += 10_000
  idp.verify(`${header('another')}.e30.sig`)
  await idp.settled
  t.equal(reads, 2, 'after the interval, one more read')
})
