// The cache's storage: entries expire by the injected clock, the memory tier stays within its bytes (the least
// recently used go), the persistent tier is bounded too, survives a restart, and a purge written by another process
// (the CLI) reaches the running server's memory tier through the change feed.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import fc from 'fast-check'
import type { CacheEntry } from '../../src/cache/cacheEntry.js'
import { MemoryTier } from '../../src/cache/memoryTier.js'
import { ResponseCache } from '../../src/cache/responseCache.js'
import { openStore } from '../../src/store/store.js'
import { ask, chatModel, startCacheRig } from '../helpers/cacheRig.js'
import { holds } from '../helpers/fuzz.js'

function entry(key: string, bytes: number, fields: Partial<CacheEntry> = {}): CacheEntry {
  return {
    key,
    route: 'ollama.chat',
    model: chatModel,
    userId: 1,
    contentType: 'application/json; charset=utf-8',
    body: Buffer.alloc(bytes, 0x61),
    holes: [],
    storedAt: 0,
    expiresAt: 1000,
    ...fields,
  }
}

function tempStore() {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-cache-'))
  const path = join(dir, 'parallama.db')
  return { path, open: () => openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true }) }
}

t.test('an entry answers until its expiry by the injected clock, never after', async (t) => {
  let now = 0
  const cache = new ResponseCache(1 << 20, undefined, () => now)
  cache.save(entry('k', 10, { expiresAt: 500 }))
  now = 499
  t.ok(cache.lookup('k'), 'before its expiry')
  now = 500
  t.equal(cache.lookup('k'), undefined, 'at its expiry')
  t.equal(cache.stats().entries, 0, 'and it is gone')
})

t.test('through the gateway: an entry answers for cache.ttl, then the request goes to a backend again', async (t) => {
  let now = Date.now()
  const rig = await startCacheRig(t, { ttl: '10m', persist: true }, {}, () => now)
  const body = { model: chatModel, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { seed: 9 } }
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss')
  now += 10 * 60_000 - 1
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit', 'within its ttl')
  now += 1
  t.equal((await ask(rig, '/api/chat', body)).cache, 'miss', 'expired in memory and in the database alike')
  t.equal((await ask(rig, '/api/chat', body)).cache, 'hit', 'and stored again')
})

t.test('the memory tier never holds more than its bytes; the least recently used go first', async (t) => {
  await holds(
    t,
    'memory tier bounded by bytes',
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3000 }), fc.boolean()), {
        maxLength: 80,
      }),
      (steps) => {
        const max = 8192
        const tier = new MemoryTier(max)
        for (const [key, bytes, read] of steps) {
          if (read) tier.get(String(key), 0)
          else tier.set(entry(String(key), bytes))
          if (tier.bytes > max) return false
        }
        return true
      },
    ),
    500,
  )
  const tier = new MemoryTier(3 * (1000 + 256 + 100))
  tier.set(entry('a', 1000))
  tier.set(entry('b', 1000))
  tier.set(entry('c', 1000))
  tier.get('a', 0)
  tier.set(entry('d', 1000))
  t.ok(tier.get('a', 0), 'the one read lately stays')
  t.equal(tier.get('b', 0), undefined, 'the least recently used went')
  t.equal(tier.evictions, 1, 'counted as an eviction')
})

t.test('the persistent tier is bounded by bytes (the oldest go) and swept of expired rows', async (t) => {
  const store = tempStore().open()
  t.teardown(() => store.close())
  const row = (key: string, storedAt: number, expiresAt = 10_000) => ({
    key,
    route: 'ollama.chat',
    model: chatModel,
    userId: 1,
    contentType: 'application/json',
    body: Buffer.alloc(1000),
    holes: '[]',
    storedAt,
    expiresAt,
  })
  for (let i = 0; i < 5; i++) store.cache.put(row(`k${i}`, i), 3000)
  t.same(store.cache.stats(0), { entries: 3, bytes: 3000, expired: 0 }, 'three of 1000 bytes fit')
  t.equal(store.cache.get('k0', 0), undefined, 'the oldest went')
  t.ok(store.cache.get('k4', 0))
  store.cache.put(row('k4', 9), 3000)
  t.same(store.cache.stats(0), { entries: 3, bytes: 3000, expired: 0 }, 'a key stored again replaces its row')
  store.cache.put(row('old', 10, 50), 10_000)
  t.equal(store.cache.get('old', 50), undefined, 'an expired row never answers')
  t.equal(store.cache.sweep(50), 1, 'and the sweep deletes it')
})

t.test('the persistent tier survives a restart', async (t) => {
  const { path } = tempStore()
  const settings = { database: { path } }
  const body = { model: chatModel, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { seed: 3 } }
  const first = await startCacheRig(t, { persist: true }, settings)
  t.equal((await ask(first, '/api/chat', body)).cache, 'miss')
  const stored = (await ask(first, '/api/chat', body)).text
  await first.gateway.close()
  const second = await startCacheRig(t, { persist: true }, settings)
  const again = await ask(second, '/api/chat', body)
  t.equal(again.cache, 'hit', 'answered from the database after the restart')
  t.equal(again.text, stored)
  const memoryOnly = await startCacheRig(t, { persist: false }, settings)
  t.equal((await ask(memoryOnly, '/api/chat', body)).cache, 'miss', 'without persist: memory only')
})

t.test('a purge written into the database by another process reaches the running server’s memory', async (t) => {
  const { path } = tempStore()
  const rig = await startCacheRig(t, {}, { database: { path } })
  const alice = rig.addKey({ username: 'alice' })
  const bob = rig.addKey({ username: 'bob' })
  const body = { model: chatModel, messages: [{ role: 'user', content: 'hi' }], stream: false, options: { seed: 3 } }
  for (const user of [alice, bob]) await ask(rig, '/api/chat', body, user.headers)
  t.equal(rig.gateway.cache!.stats().entries, 2)
  const cli = openStore({ path, migrate_on_start: false, busy_timeout: 1000 }, { migrate: false })
  const aliceId = cli.users.find('alice')!.id
  cli.cache.purge({ userId: aliceId }, Date.now())
  cli.close()
  rig.gateway.authenticator.pollChanges()
  t.equal((await ask(rig, '/api/chat', body, alice.headers)).cache, 'miss', 'alice’s entry is gone')
  t.equal((await ask(rig, '/api/chat', body, bob.headers)).cache, 'hit', 'bob’s stays')
})
