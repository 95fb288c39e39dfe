// `parallama report compliance`: the compliance report (src/admin/compliance.ts) as Markdown or JSON. It reads the
// database read-only and changes nothing; exit 1 when a check fails, so a cron job or CI can act on it.
import type { Argv, CommandModule } from 'yargs'
import { complianceMarkdown, complianceReport } from '../src/admin/compliance.js'
import { complianceFacts } from '../src/admin/complianceFacts.js'
import { checkpointOf } from './audit.js'
import { CliError, guard, printJson } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

type ComplianceArgs = StoreArgs & {
  format: 'md' | 'json'
  'unused-days': number
  'key-age-days': number
  checkpoint?: string
  'public-key'?: string
}

function compliance(args: ComplianceArgs) {
  const days = (option: 'unused-days' | 'key-age-days') => {
    const value = args[option]
    if (Number.isInteger(value) && value >= 1 && value <= 36_500) return value
    throw new CliError(`--${option}: expected a whole number of days from 1 to 36500, got ${String(value)}`, 2)
  }
  const options = { unusedDays: days('unused-days'), keyAgeDays: days('key-age-days') }
  if ((args.checkpoint === undefined) !== (args['public-key'] === undefined)) {
    throw new CliError('--checkpoint and --public-key go together (the checkpoint is checked with the key)', 2)
  }
  const checkpoint = args.checkpoint === undefined ? undefined : checkpointOf(args.checkpoint, args['public-key']!)
  const report = withStore(
    args,
    (store, config) => complianceReport(complianceFacts(store, config, Date.now(), checkpoint), options),
    'read',
  )
  if (args.json || args.format === 'json') printJson(report)
  else process.stdout.write(complianceMarkdown(report))
  if (report.summary.fail > 0) process.exitCode = 1
}

export const reportCommand: CommandModule = {
  command: 'report <command>',
  describe: 'reports for reviews',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'compliance',
        'users and roles, key hygiene, retention, backups, exposure: each pass, warn or fail with what to do (exit 1 on a fail)',
        (y) =>
          y.options({
            ...storeOptions,
            format: { choices: ['md', 'json'] as const, default: 'md' as const, describe: 'Markdown or JSON' },
            'unused-days': { type: 'number', default: 90, describe: 'report keys unused for this many days' },
            'key-age-days': { type: 'number', default: 365, describe: 'report keys older than this many days' },
            checkpoint: { type: 'string', describe: 'an audit checkpoint kept off the box: verify the chain up to it' },
            'public-key': { type: 'string', describe: 'the public key (PEM) the checkpoint was signed for' },
          }),
        guard(compliance),
      )
      .demandCommand(1, 'name a report: compliance'),
  handler: () => {},
}
