// Every change an SSO sign-in makes to the users table has its audit row, with what changed (found by the attack
// review): the user a first sign-in creates was recorded only as a login, with no user.create row nor its role; and a
// linked user lowered to readonly because its groups no longer map to a role had only a failed login row, with no
// before/after, so the audit log did not show that an admin had lost its role.
import t from 'tap'
import { Browser } from '../helpers/oidcProvider.js'
import { startSsoRig } from '../helpers/ssoRig.js'

const { rig, provider, url, lastAudit } = await startSsoRig(t)
const { store } = rig.gateway

async function signIn(login: string): Promise<URLSearchParams> {
  const landed = await new Browser().signIn(`${url}/auth/v1/oidc/login`, login, (to) => new URL(to).pathname === '/ui/')
  return new URLSearchParams(new URL(landed).hash.slice(1))
}

t.test('the user a first sign-in creates is recorded as created, with its role', async (t) => {
  provider.accounts.set('carol', { email: 'carol@example.com', email_verified: true, groups: ['llm-admins'] })
  t.ok((await signIn('carol')).get('sso_code'))
  t.equal(store.users.get('carol').role, 'admin')
  t.match(lastAudit('user.create'), {
    action: 'user.create',
    result: 'ok',
    target: 'user:carol',
    actor: { source: 'sso', user: 'carol' },
    before: null,
    after: { role: 'admin', email: 'carol@example.com', has_password: false },
  })
})

t.test('a linked user lowered for lack of a role is recorded with the role it lost', async (t) => {
  provider.accounts.set('carol', { email: 'carol@example.com', email_verified: true, groups: ['unmapped'] })
  t.equal((await signIn('carol')).get('sso_error'), 'sso_no_role')
  t.equal(store.users.get('carol').role, 'readonly')
  t.match(lastAudit('user.update'), {
    action: 'user.update',
    result: 'ok',
    target: 'user:carol',
    actor: { source: 'sso' },
    before: { role: 'admin' },
    after: { role: 'readonly' },
  })
})
