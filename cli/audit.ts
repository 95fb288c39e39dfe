// `parallama audit ...`: read the audit log (list, export), prove it unchanged (verify, against a signed checkpoint
// too), and sign checkpoints to keep off the box (checkpoint, keygen). Reads are themselves recorded.
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs'
import type { Writable } from 'node:stream'
import type { Argv, CommandModule } from 'yargs'
import { auditView, exportAudit, readAudit, verifyAudit } from '../src/admin/audit.js'
import { parseInstant } from '../src/config/schemaTypes.js'
import {
  CheckpointError,
  generateSigningKey,
  loadPublicKey,
  loadSigningKey,
  readCheckpoint,
  signCheckpoint,
} from '../src/events/auditCheckpoint.js'
import { AuditLog } from '../src/events/auditLog.js'
import { CliError, guard, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

const filterOptions = {
  since: { type: 'string', describe: 'rows from: a duration back from now (7d, 12h) or a date (2026-11-01)' },
  action: { type: 'string', describe: 'only this action (login, user.create, key.revoke, audit.read, ...)' },
  user: { type: 'string', describe: 'only rows whose acting user is this one' },
} as const

type FilterArgs = StoreArgs & { since?: string; action?: string; user?: string }

function filterOf(args: FilterArgs) {
  let since: number | undefined
  if (args.since !== undefined) {
    since = parseInstant(args.since)
    if (since === undefined) {
      throw new CliError(`--since: expected a duration (7d, 12h) or a date (2026-11-01), got "${args.since}"`, 2)
    }
  }
  return { since, action: args.action, user: args.user }
}

function list(args: FilterArgs & { limit: number }) {
  if (!Number.isSafeInteger(args.limit) || args.limit < 1) {
    throw new CliError(`--limit: expected a whole number of rows, 1 or more, got "${args.limit}"`, 2)
  }
  const filter = { ...filterOf(args), limit: args.limit }
  const rows = withStore(args, (store, _config, trail) => readAudit(store, trail, filter).map(auditView), 'read')
  if (args.json) return printJson(rows)
  printTable(
    rows.map((row) => ({
      ...row,
      actor: row.actor.user ?? row.actor.os_user,
      source: row.actor.source,
      from: row.actor.client_ip ?? row.actor.host,
    })),
    ['seq', 'time', 'action', 'source', 'actor', 'from', 'target', 'result', 'error'],
  )
}

async function exportRows(args: FilterArgs & { output?: string }) {
  const filter = filterOf(args)
  let count = 0
  await withStore(
    args,
    async (store, _config, trail) => {
      const rows = exportAudit(store, trail, filter)
      const sink: Writable = args.output ? createWriteStream(args.output, { mode: 0o600 }) : process.stdout
      for (const row of rows) {
        if (!sink.write(JSON.stringify(auditView(row)) + '\n')) await new Promise((go) => sink.once('drain', go))
        count++
      }
      if (args.output) {
        await new Promise<void>((resolve, reject) =>
          sink.end((error?: Error | null) => (error ? reject(error) : resolve())),
        )
      }
    },
    'read',
  )
  if (args.output) process.stderr.write(`${count} audit rows written to ${args.output}\n`)
}

function verify(args: StoreArgs & { checkpoint?: string; 'public-key'?: string }) {
  if ((args.checkpoint === undefined) !== (args['public-key'] === undefined)) {
    throw new CliError('--checkpoint and --public-key go together (the checkpoint is checked with the key)', 2)
  }
  const checkpoint = args.checkpoint === undefined ? undefined : checkpointOf(args.checkpoint, args['public-key']!)
  const result = withStore(args, (store, _config, trail) => verifyAudit(store, trail, checkpoint), 'read')
  if (args.json) printJson(result)
  if (!result.ok) {
    throw new CliError(
      `audit log broken at row ${result.seq}: ${result.problem} (${result.rows} rows before it verified)`,
    )
  }
  // The checkpoint's row was pruned: nothing left was compared with it, and an anchor past it is also what a forger
  // who rewrote the log would write. It cannot vouch, so verifying against it fails: pass a newer one.
  if (checkpoint && result.anchor && checkpoint.seq < result.anchor.seq) {
    throw new CliError(
      `the checkpoint's row ${checkpoint.seq} is older than the prune anchor (row ${result.anchor.seq}): it vouches for none of the ${result.rows} rows left; verify against a checkpoint newer than the last prune`,
    )
  }
  if (args.json) return
  const from = result.anchor ? `from the prune anchor at row ${result.anchor.seq}` : 'from the first row'
  const against = checkpoint ? `, and holds row ${checkpoint.seq} as the checkpoint signed it` : ''
  process.stdout.write(`audit log verified: ${result.rows} rows ${from} to row ${result.last.seq}${against}\n`)
}

/** The signed checkpoint in `file`, checked against the public key; a CliError saying what is wrong. */
export function checkpointOf(file: string, publicKeyFile: string) {
  try {
    return readCheckpoint(readFileSync(file, 'utf8'), loadPublicKey(publicKeyFile), file)
  } catch (error) {
    if (error instanceof CheckpointError) throw new CliError(error.message)
    throw new CliError(`cannot read the checkpoint ${file}: ${(error as Error).message}`)
  }
}

function checkpoint(args: StoreArgs & { out: string; key?: string }) {
  const written = withStore(
    args,
    (store, config) => {
      const keyFile = args.key ?? config.audit.signing_key_file
      if (keyFile === '') {
        throw new CliError('no signing key: give --key FILE or set audit.signing_key_file (parallama audit keygen)', 2)
      }
      const signed = signCheckpoint(
        new AuditLog(store.db).lastLink(),
        cliKey(() => loadSigningKey(keyFile)),
      )
      writeFileSync(args.out, JSON.stringify(signed, null, 2) + '\n')
      return signed
    },
    'read',
  )
  if (args.json) return printJson(written)
  process.stdout.write(`checkpoint of row ${written.seq} written to ${args.out}: keep a copy off this machine\n`)
}

function keygen(args: { out: string }) {
  const publicKey = cliKey(() => generateSigningKey(args.out))
  process.stdout.write(publicKey)
  process.stderr.write(
    `private key written to ${args.out} (0600); the public key above verifies checkpoints: keep it with them\n`,
  )
}

function cliKey<T>(work: () => T): T {
  try {
    return work()
  } catch (error) {
    if (error instanceof CheckpointError) throw new CliError(error.message)
    throw error
  }
}

export const auditCommand: CommandModule = {
  command: 'audit <command>',
  describe: 'the tamper-evident audit log: list, export, verify, signed checkpoints',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'list',
        'the newest audit rows',
        (y) =>
          y.options({
            ...storeOptions,
            ...filterOptions,
            limit: { type: 'number', default: 50, describe: 'rows shown' },
          }),
        guard(list),
      )
      .command(
        'export',
        'every audit row, oldest first, as JSON lines',
        (y) =>
          y.options({
            ...storeOptions,
            ...filterOptions,
            output: { type: 'string', describe: 'write to this file (0600) instead of stdout' },
          }),
        guard(exportRows),
      )
      .command(
        'verify',
        'check the hash chain; exits 1 naming the first broken row',
        (y) =>
          y.options({
            ...storeOptions,
            checkpoint: { type: 'string', describe: 'a checkpoint file: also catches newest rows cut off' },
            'public-key': { type: 'string', describe: 'the public key (PEM) the checkpoint was signed for' },
          }),
        guard(verify),
      )
      .command(
        'checkpoint',
        'write a signed checkpoint (newest row, its hash, the time)',
        (y) =>
          y.options({
            ...storeOptions,
            out: { type: 'string', demandOption: true, describe: 'the checkpoint file to write' },
            key: { type: 'string', describe: 'the private key file (default: audit.signing_key_file)' },
          }),
        guard(checkpoint),
      )
      .command(
        'keygen',
        'make an Ed25519 signing key (0600) and print its public key',
        (y) => y.options({ out: { type: 'string', demandOption: true, describe: 'the private key file to create' } }),
        guard(keygen),
      )
      .demandCommand(1, 'name an audit command: list, export, verify, checkpoint or keygen'),
  handler: () => {},
}
