// Keys are rows a user can make: one user holds at most maxLiveKeysPerUser live ones, counted in the write transaction;
// revoked and expired keys make room again. The bound holds for the API and the CLI alike (both go through the store).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { generateKey } from '../../src/auth/apiKeyFormat.js'
import { GatewayError } from '../../src/errors.js'
import { maxLiveKeysPerUser } from '../../src/store/bounds.js'
import { openStore } from '../../src/store/store.js'

t.test('one user holds at most maxLiveKeysPerUser live keys', async (t) => {
  let now = 1_800_000_000_000
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-keys-')), 'p.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true, now: () => now })
  t.teardown(() => store.close())
  const user = store.users.add({ username: 'ann', role: 'user' })
  const make = (expiresAt: number | null = null) => {
    const made = generateKey()
    return store.keys.create({ id: made.id, userId: user.id, hash: made.hash, prefix: made.prefix, expiresAt })
  }
  make(now + 60_000)
  for (let i = 1; i < maxLiveKeysPerUser; i++) make()
  const refused = (() => {
    try {
      make()
    } catch (error) {
      return error
    }
  })()
  t.ok(refused instanceof GatewayError, 'the next key is refused')
  t.match(refused, { code: 'invalid_request', status: 400, message: /holds 1000 live keys/ })
  t.equal(store.users.keyCount(user.id), maxLiveKeysPerUser, 'nothing half-written')
  now += 120_000
  t.ok(make(), 'an expired key makes room')
  store.keys.revoke(store.keys.list(user.id)[1]!.id)
  t.ok(make(), 'so does a revoked one')
  t.throws(() => make(), /live keys/)
  const other = store.users.add({ username: 'bob', role: 'user' })
  const made = generateKey()
  t.ok(store.keys.create({ id: made.id, userId: other.id, hash: made.hash, prefix: made.prefix }), 'per user')
})
