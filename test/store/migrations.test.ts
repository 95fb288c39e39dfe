// Migrations: applied once each, in order, recorded with a checksum; a database written by a newer version, or whose
// applied migration was edited, is refused with a message that says what to do. The file is created 0600.
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/store/database.js'
import { knownMigrations, migrate, migrationState, requireCurrent } from '../../src/store/migrations.js'
import { openStore } from '../../src/store/store.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-migrations-'))
const options = { busyTimeoutMs: 1000 }

t.test('a new database is created 0600 in WAL mode and migrated to the latest version', async (t) => {
  const path = join(dir, 'new', 'parallama.db')
  const store = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(store.db.pragma('foreign_keys', { simple: true }), 1)
  t.same(migrationState(store.db).pending, [])
  store.close()
  const again = openStore({ path, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  t.equal(migrationState(again.db).applied.length, knownMigrations().length, 'nothing is applied twice')
  again.close()
})

t.test('an outdated database is refused when start-up may not migrate', async (t) => {
  const db = openDatabase(join(dir, 'old.db'), options)
  t.throws(() => requireCurrent(db), { code: 'database_outdated', message: /run 'parallama db migrate'/ })
  db.close()
})

t.test('a database from a newer version, or with an edited migration, is refused', async (t) => {
  const folder = mkdtempSync(join(dir, 'set-'))
  writeFileSync(join(folder, '001_first.sql'), 'CREATE TABLE a (x INTEGER);')
  writeFileSync(join(folder, '002_second.sql'), 'CREATE TABLE b (x INTEGER);')
  const db = openDatabase(join(dir, 'versions.db'), options)
  t.same(
    migrate(db, knownMigrations(folder + '/')).map((m) => m.version),
    [1, 2],
  )
  const older = knownMigrations(folder + '/').slice(0, 1)
  t.throws(() => migrationState(db, older), {
    code: 'database_too_new',
    message: /migration 2 \(second\).*newer version/,
  })
  writeFileSync(join(folder, '001_first.sql'), 'CREATE TABLE a (x INTEGER, y INTEGER);')
  t.throws(() => migrationState(db, knownMigrations(folder + '/')), {
    code: 'migration_changed',
    message: /never be edited/,
  })
  db.close()
})

t.test('a failing migration leaves nothing half-applied', async (t) => {
  const folder = mkdtempSync(join(dir, 'broken-'))
  writeFileSync(join(folder, '001_ok.sql'), 'CREATE TABLE ok (x INTEGER);')
  writeFileSync(join(folder, '002_broken.sql'), 'CREATE TABLE half (x INTEGER); CREATE TABLE oops (;')
  const db = openDatabase(join(dir, 'broken.db'), options)
  t.throws(() => migrate(db, knownMigrations(folder + '/')))
  t.same(
    migrationState(db, knownMigrations(folder + '/')).applied.map((m) => m.version),
    [1],
  )
  t.notOk(db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'half'`).get(), 'the broken migration rolled back whole')
  db.close()
})

t.test('a database that cannot be created says where and why', async (t) => {
  writeFileSync(join(dir, 'a-file'), '')
  t.throws(() => openDatabase(join(dir, 'a-file', 'parallama.db'), options), { code: 'database_unavailable' })
})
