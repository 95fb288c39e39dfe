// Migration 013: users carry the (issuer, subject) of the OpenID identity they are linked to. One identity links one
// user: a second user for the same identity is refused by the unique index and leaves no half-written row.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../src/store/store.js'

t.test('one identity links one user, and a refused link leaves no user behind', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-sso-link-')), 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  const link = { issuer: 'https://idp.test', subject: 'abc' }
  const first = store.users.addLinked({ username: 'first', role: 'user' }, link)
  t.same(store.users.ssoLink(first.id), link)
  t.equal(store.users.findBySso(link)?.id, first.id)
  t.throws(() => store.users.addLinked({ username: 'second', role: 'user' }, link), /UNIQUE/)
  t.equal(store.users.find('second'), undefined, 'the user of the refused link was not kept')
  t.equal(store.users.findBySso({ ...link, issuer: 'https://other.test' }), undefined, 'the issuer is part of the key')
  const local = store.users.add({ username: 'local', role: 'admin' })
  t.equal(store.users.ssoLink(local.id), undefined, 'a password user has no link')
})
