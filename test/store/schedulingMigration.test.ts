// Migration 009 (issue 13) on a database with rows: every user and usage row kept, each user weighing 1 and each
// request having waited 0 ms (no queue existed); the database itself refuses a weight or a wait out of bounds.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/store/database.js'
import { knownMigrations, migrate } from '../../src/store/migrations.js'
import { openStore } from '../../src/store/store.js'

t.test('an existing database keeps its users and usage rows; weights are 1, waits 0', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-migration-009-')), 'parallama.db')
  const db = openDatabase(path, { busyTimeoutMs: 1000 })
  migrate(
    db,
    knownMigrations().filter((migration) => migration.version < 9),
  )
  const insertUser = db.prepare(
    `INSERT INTO users (id, username, role, active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 2)`,
  )
  insertUser.run(1, 'root', 'admin', 1)
  insertUser.run(2, 'kim', 'user', 0)
  const insertUsage = db.prepare(
    `INSERT INTO usage (time, request_id, user_id, username, api, route, model, status, prompt_tokens,
      completion_tokens, tokens, duration_ms, bytes_in, bytes_out, client_aborted, cost)
      VALUES (?, ?, 2, 'kim', 'ollama', 'generate', 'llama3.2:3b', 200, 3, 4, 'exact', 12.5, 10, 20, 0, 0.25)`,
  )
  insertUsage.run(1000, 'r1')
  insertUsage.run(2000, 'r2')
  const before = db.prepare('SELECT * FROM usage ORDER BY id').all()
  db.close()

  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.teardown(() => store.close())
  t.same(
    store.users.list().map((user) => [user.id, user.username, user.role, user.active, user.updatedAt, user.weight]),
    [
      [2, 'kim', 'user', false, 2, 1],
      [1, 'root', 'admin', true, 2, 1],
    ],
    'every user kept as it was, weighing 1',
  )
  const after = store.db.prepare('SELECT * FROM usage ORDER BY id').all() as Record<string, unknown>[]
  t.same(
    after,
    // (cache: the column migration 014 adds, null on rows from before it)
    before.map((row) => ({ ...(row as object), queue_ms: 0, cache: null })),
    'every usage row kept, having waited 0 ms',
  )
  for (const weight of [0, -1, 0.0009, 1000.5, null]) {
    t.throws(
      () => store.db.prepare('UPDATE users SET weight = ? WHERE id = 1').run(weight),
      /constraint failed/,
      `the database refuses a weight of ${weight}`,
    )
  }
  t.throws(() => store.db.prepare('UPDATE usage SET queue_ms = -1').run(), /CHECK constraint failed/)
  t.equal(store.users.get('root').weight, 1, 'nothing changed')
})
