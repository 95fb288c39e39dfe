// Migration 006 (issue 11, #3): users, api_keys and refresh_tokens rebuilt with every row, id and reference kept, no
// cascade fired on the way; user ids never come back, not even an id freed before the upgrade.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/store/database.js'
import { knownMigrations, migrate } from '../../src/store/migrations.js'
import { openStore } from '../../src/store/store.js'

t.test('an existing database keeps its users, keys, sessions and references; freed ids stay freed', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'parallama-migration-006-')), 'parallama.db')
  const db = openDatabase(path, { busyTimeoutMs: 1000 })
  migrate(
    db,
    knownMigrations().filter((migration) => migration.version < 6),
  )
  const insertUser = db.prepare(
    `INSERT INTO users (id, username, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 1)`,
  )
  insertUser.run(1, 'admin', 'admin', 'hash-1')
  insertUser.run(2, 'kim', 'user', null)
  insertUser.run(3, 'lee', 'user', 'hash-3')
  insertUser.run(4, 'gone', 'admin', null)
  const insertKey = db.prepare(
    `INSERT INTO api_keys (id, user_id, hash, prefix, models, created_at, expires_at) VALUES (?, ?, ?, 'p', ?, 1, ?)`,
  )
  insertKey.run('aaaaaaaaaaaa', 2, Buffer.from('a'), '["llama3.2:*"]', 5)
  insertKey.run('bbbbbbbbbbbb', 2, Buffer.from('b'), null, null)
  db.prepare(`UPDATE api_keys SET replaced_by = 'bbbbbbbbbbbb', valid_until = 9 WHERE id = 'aaaaaaaaaaaa'`).run()
  db.prepare(
    `INSERT INTO refresh_tokens (id, family_id, user_id, hash, created_at, expires_at) VALUES ('r', 'f', 3, ?, 1, 99)`,
  ).run(Buffer.from('r'))
  // User 4 is deleted, and 5 was deleted long ago: only its usage rows remember it.
  db.prepare(`DELETE FROM users WHERE id = 4`).run()
  db.prepare(`INSERT INTO auth_changes (at, kind, user_id) VALUES (1, 'user_deleted', 4)`).run()
  db.prepare(
    `INSERT INTO usage_hourly (hour, user_id, key_id, model, api, requests, errors, prompt_tokens, completion_tokens,
      cost) VALUES (0, 5, '', '', 'ollama', 1, 0, 0, 0, 0)`,
  ).run()
  db.close()

  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.same(
    store.users.list().map((user) => [user.id, user.username, user.role, user.passwordHash]),
    [
      [1, 'admin', 'admin', 'hash-1'],
      [2, 'kim', 'user', null],
      [3, 'lee', 'user', 'hash-3'],
    ],
    'every user kept, with its id',
  )
  const epochs = store.users.list().map((user) => user.tokenEpoch)
  t.ok(
    epochs.every((epoch) => Number.isSafeInteger(epoch) && epoch > 0),
    'each user has a token epoch',
  )
  t.equal(new Set(epochs).size, epochs.length, 'drawn at random')
  const keys = store.keys.list(2)
  t.match(keys, [
    { id: 'aaaaaaaaaaaa', models: ['llama3.2:*'], expiresAt: 5, replacedBy: 'bbbbbbbbbbbb', validUntil: 9 },
    { id: 'bbbbbbbbbbbb', models: null, createdByKey: null },
  ])
  t.ok(store.sessions.findByHash(Buffer.from('r')), 'refresh tokens kept')
  t.same(store.db.pragma('foreign_key_check'), [], 'references intact')
  t.match(
    store.db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'api_keys'`).pluck().get(),
    /REFERENCES "users"/,
    'keys reference the new users table',
  )
  const next = store.users.add({ username: 'new', role: 'user' })
  t.equal(next.id, 6, 'a new user gets an id above every id ever used (5, known only from usage)')
  store.users.remove('new')
  t.equal(store.users.add({ username: 'newer', role: 'user' }).id, 7, 'and a deleted id is never reused')
  store.users.remove('kim')
  t.same(store.keys.list(2), [], 'deleting a user still takes its keys (ON DELETE CASCADE kept)')
  store.close()
})
