// `parallama db migrate|status`: the database's schema version. (Start-up migrates by itself unless
// database.migrate_on_start is off.)
import { existsSync } from 'node:fs'
import type { Argv, CommandModule } from 'yargs'
import { openDatabase } from '../src/store/database.js'
import { knownMigrations, migrate, migrationState } from '../src/store/migrations.js'
import { CliError, guard, printJson, printTable, time } from './output.js'
import { databaseConfig, storeOptions, withStore, type StoreArgs } from './storeAccess.js'
import { parseDuration } from '../src/config/schemaTypes.js'
import { UsageStore } from '../src/store/usage.js'

function status(args: StoreArgs): void {
  const database = databaseConfig(args)
  if (!existsSync(database.path)) throw new CliError(`no database at ${database.path} (any write command creates it)`)
  const db = openDatabase(database.path, { busyTimeoutMs: database.busy_timeout, readonly: true })
  try {
    const state = migrationState(db)
    const rows = [
      ...state.applied.map((m) => ({ version: m.version, name: m.name, applied: time(m.appliedAt) })),
      ...state.pending.map((m) => ({ version: m.version, name: m.name, applied: 'pending' })),
    ]
    if (args.json) return printJson({ path: database.path, migrations: rows, upToDate: state.pending.length === 0 })
    process.stdout.write(`database ${database.path}\n`)
    printTable(rows, ['version', 'name', 'applied'])
    process.stdout.write(
      state.pending.length === 0 ? 'up to date\n' : `${state.pending.length} pending: run 'parallama db migrate'\n`,
    )
  } finally {
    db.close()
  }
}

function runMigrate(args: StoreArgs): void {
  const database = databaseConfig(args)
  const db = openDatabase(database.path, { busyTimeoutMs: database.busy_timeout })
  try {
    const applied = migrate(db, knownMigrations())
    if (args.json) return printJson({ path: database.path, applied: applied.map((m) => m.version) })
    if (applied.length === 0) process.stdout.write(`database ${database.path} is up to date\n`)
    for (const migration of applied) process.stdout.write(`applied ${migration.version} ${migration.name}\n`)
  } finally {
    db.close()
  }
}

function cleanup(args: StoreArgs & { olderThan?: string }) {
  const deleted = withStore(args, (store, config) => {
    const age = args.olderThan === undefined ? config.usage.retention : parseDuration(args.olderThan)
    if (age === undefined)
      throw new CliError(`--older-than: expected a duration such as 90d, got "${args.olderThan}"`, 2)
    if (age === 0) return 0
    return new UsageStore(store.db).deleteBefore(Date.now() - age)
  })
  if (args.json) return printJson({ deleted })
  process.stdout.write(`deleted ${deleted} usage row(s); hourly rollups are kept\n`)
}

export const dbCommand: CommandModule = {
  command: 'db <command>',
  describe: 'the database: schema migrations and status',
  builder: (yargs: Argv) =>
    yargs
      .command('migrate', 'apply pending schema migrations', (y) => y.options(storeOptions), guard(runMigrate))
      .command('status', 'show applied and pending migrations', (y) => y.options(storeOptions), guard(status))
      .command(
        'cleanup',
        'delete per-request usage rows older than the retention',
        (y) =>
          y.options({ ...storeOptions, 'older-than': { type: 'string', describe: 'default usage.retention (90d)' } }),
        guard(cleanup),
      )
      .demandCommand(1, 'name a db command: migrate, status or cleanup'),
  handler: () => {},
}
