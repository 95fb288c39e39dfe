// `npm run bench:auth`: what checking an API key costs per request, measured in-process (µs are below the noise of an
// end-to-end run): a cache hit and a cache miss (one SQLite lookup), with 1 and with 1,000,000 keys in the database.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateKey } from '../src/auth/apiKeyFormat.js'
import { KeyVerifier } from '../src/auth/keyVerifier.js'
import { openStore, type Store } from '../src/store/store.js'

const { values } = parseArgs({ options: { keys: { type: 'string', default: '1000000' } } })
const sizes = [1, Number(values.keys)]

function fill(store: Store, count: number): string[] {
  const user = store.users.add({ username: 'bench', role: 'user' })
  const insert = store.db.prepare('INSERT INTO api_keys (id, user_id, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)')
  const sample: string[] = []
  store.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const made = generateKey()
      insert.run(made.id, user.id, made.hash, made.prefix, Date.now())
      if (sample.length < 2000) sample.push(made.key)
    }
  })()
  return sample
}

/** Mean µs per call of `work` over `rounds` calls, after a warm-up. */
function measure(rounds: number, work: (round: number) => void): number {
  for (let i = 0; i < Math.min(rounds, 10_000); i++) work(i)
  const start = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) work(i)
  return Number(process.hrtime.bigint() - start) / 1000 / rounds
}

const results = []
for (const size of sizes) {
  const store = openStore(
    {
      path: join(mkdtempSync(join(tmpdir(), 'parallama-bench-auth-')), 'bench.db'),
      migrate_on_start: true,
      busy_timeout: 5000,
    },
    { migrate: true },
  )
  const started = Date.now()
  const keys = fill(store, size)
  process.stderr.write(`  ${size} keys written in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  const cached = new KeyVerifier(store.keys, {
    cacheSize: 100_000,
    cacheTtlMs: 3_600_000,
    negativeCacheSize: 10,
    negativeCacheTtlMs: 1000,
  })
  const hitUs = measure(1_000_000, (i) => cached.verify(keys[i % keys.length]!))
  // A cache of one entry, visited in turn by many keys: every call is a miss and reads SQLite.
  const uncached = new KeyVerifier(store.keys, {
    cacheSize: 1,
    cacheTtlMs: 3_600_000,
    negativeCacheSize: 10,
    negativeCacheTtlMs: 1000,
  })
  const missUs = measure(200_000, (i) => uncached.verify(keys[(i * 7919) % keys.length]!))
  const shapeUs = measure(1_000_000, () => cached.verify('plm_not-a-key'))
  results.push({ keys: size, hitUs, missUs, malformedUs: shapeUs })
  store.close()
}

process.stdout.write('\nkeys in db   cache hit µs   cache miss µs   malformed µs\n')
for (const row of results) {
  process.stdout.write(
    `${String(row.keys).padStart(10)}   ${row.hitUs.toFixed(2).padStart(12)}   ${row.missUs.toFixed(2).padStart(13)}   ${row.malformedUs.toFixed(2).padStart(12)}\n`,
  )
}
process.stdout.write(JSON.stringify({ when: new Date().toISOString(), node: process.version, results }) + '\n')
