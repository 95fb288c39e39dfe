// A key made by a key is used from no more addresses than its maker, also after the maker's allow_ip is narrowed
// (PATCH /admin/v1/keys/{id}). Found by the attack review: a key only checked its own list and its user's, so a child
// made while its maker had no list (or a wider one) kept working from everywhere once the maker was fenced in.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { issueKey } from '../../src/auth/keyIssuer.js'
import { KeyVerifier } from '../../src/auth/keyVerifier.js'
import type { Principal } from '../../src/auth/principal.js'
import { openStore } from '../../src/store/store.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-maker-allow-ip-'))
const store = openStore({ path: join(dir, 'p.db'), migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
t.teardown(() => store.close())

const user = store.users.add({ username: 'ann', role: 'user' })
const maker = issueKey(store.keys, { userId: user.id })
const child = issueKey(store.keys, { userId: user.id, createdByKey: maker.record.id })
const grandchild = issueKey(store.keys, { userId: user.id, createdByKey: child.record.id })
const verifier = new KeyVerifier(store.keys, {
  cacheSize: 100,
  cacheTtlMs: 60_000,
  negativeCacheSize: 100,
  negativeCacheTtlMs: 60_000,
})

const usableFrom = (key: string, address: string) => {
  const principal = verifier.verify(key) as Principal
  return principal.allowsAddress === undefined || principal.allowsAddress(address)
}

t.test("a maker's narrowed allow_ip fences in the keys it made, however deep", async (t) => {
  t.ok(usableFrom(child.key, '203.0.113.9'), 'no list anywhere: every address')
  t.ok(usableFrom(grandchild.key, '203.0.113.9'))
  store.keys.setAllowIp(maker.record.id, ['10.0.0.0/8'])
  verifier.apply(store.feed.changesSince(0))
  t.notOk(usableFrom(maker.key, '203.0.113.9'))
  t.notOk(usableFrom(child.key, '203.0.113.9'), 'the child is fenced in with its maker')
  t.notOk(usableFrom(grandchild.key, '203.0.113.9'), 'and the keys it made')
  t.ok(usableFrom(grandchild.key, '10.1.2.3'), "inside the maker's list it still works")
})
