// `parallama db migrate|status|cleanup|backup|restore|vacuum|check`: the database's schema, retention, backups and
// health. (Start-up migrates by itself unless database.migrate_on_start is off.)
import { existsSync, statSync } from 'node:fs'
import { backupDatabase, checkDatabase, restoreDatabase } from '../src/store/backup.js'
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

async function backup(args: StoreArgs & { file: string; force: boolean }) {
  const database = databaseConfig(args)
  if (existsSync(args.file) && !args.force) {
    throw new CliError(`${args.file} exists; pass --force to replace it`, 2)
  }
  let shown = -1
  const result = await backupDatabase(database.path, args.file, ({ totalPages, remainingPages }) => {
    // Progress for large files only (a few thousand pages take well under a second).
    if (totalPages < 25_000 || args.json) return
    const percent = Math.floor(((totalPages - remainingPages) / totalPages) * 100)
    if (percent >= shown + 10) process.stderr.write(`backup: ${(shown = percent)} %\n`)
  })
  if (args.json) return printJson({ file: args.file, bytes: result.bytes, version: result.version, verified: true })
  process.stdout.write(`backed up ${database.path} to ${args.file} (${result.bytes} bytes, verified)\n`)
}

function restore(args: StoreArgs & { file: string; yes: boolean }) {
  const database = databaseConfig(args)
  if (!args.yes) {
    throw new CliError(`restoring replaces ${database.path}; pass --yes to confirm (the current file is kept aside)`, 2)
  }
  const kept = restoreDatabase(args.file, database.path)
  if (args.json) return printJson({ restored: args.file, path: database.path, kept: kept ?? null })
  process.stdout.write(`restored ${database.path} from ${args.file}`)
  process.stdout.write(kept ? `; the previous file is kept as ${kept}\n` : '\n')
}

function vacuum(args: StoreArgs) {
  const database = databaseConfig(args)
  if (!existsSync(database.path)) throw new CliError(`no database at ${database.path}`)
  const db = openDatabase(database.path, { busyTimeoutMs: database.busy_timeout })
  const before = statSync(database.path).size
  try {
    db.exec('VACUUM')
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
  const after = statSync(database.path).size
  if (args.json) return printJson({ path: database.path, bytesBefore: before, bytesAfter: after })
  process.stdout.write(`vacuumed ${database.path}: ${before} -> ${after} bytes\n`)
}

function check(args: StoreArgs) {
  const database = databaseConfig(args)
  const result = checkDatabase(database.path)
  if (args.json) printJson({ path: database.path, ...result })
  else if (result.ok) process.stdout.write(`${database.path}: ok (schema version ${result.version})\n`)
  else process.stdout.write(`${database.path}: ${result.problems.length} problem(s)\n${result.problems.join('\n')}\n`)
  if (!result.ok) process.exitCode = 1
}

const fileArgument = (y: Argv, what: string) =>
  y.positional('file', { type: 'string', demandOption: true, describe: what })

export const dbCommand: CommandModule = {
  command: 'db <command>',
  describe: 'the database: migrations, status, cleanup, backup, restore, vacuum, check',
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
      .command(
        'backup <file>',
        'an online, verified copy of the database (safe while the server runs)',
        (y) =>
          fileArgument(y, 'where to write the backup').options({
            ...storeOptions,
            force: { type: 'boolean', default: false, describe: 'replace an existing file' },
          }),
        guard(backup),
      )
      .command(
        'restore <file>',
        'replace the database with a backup (the server must be stopped)',
        (y) =>
          fileArgument(y, 'the backup to restore').options({
            ...storeOptions,
            yes: { type: 'boolean', default: false, describe: 'confirm: the current file is replaced (kept aside)' },
          }),
        guard(restore),
      )
      .command('vacuum', 'rebuild the file to reclaim free space', (y) => y.options(storeOptions), guard(vacuum))
      .command('check', 'integrity, foreign keys and schema version', (y) => y.options(storeOptions), guard(check))
      .demandCommand(1, 'name a db command: migrate, status, cleanup, backup, restore, vacuum or check'),
  handler: () => {},
}
