// The command tree of `parallama`, apart from its start (index.ts) so that tests can run commands in-process.
import yargs, { type Argv } from 'yargs'
import { auditCommand } from './audit.js'
import { cacheCommand } from './cache.js'
import { configCommand } from './config.js'
import { dbCommand } from './db.js'
import { keyCommand } from './key.js'
import { limitCommand } from './limit.js'
import { loginCommand } from './login.js'
import { reportCommand } from './report.js'
import { serveCommand } from './serve.js'
import { statusCommand } from './status.js'
import { usageCommand } from './usage.js'
import { userCommand } from './user.js'
import { webhookCommand } from './webhook.js'

/** Every command, parsing `args` (the arguments after `parallama`). */
export function commandTree(args: string[]): Argv {
  return yargs(args)
    .scriptName('parallama')
    .command(serveCommand)
    .command(statusCommand)
    .command(configCommand)
    .command(dbCommand)
    .command(userCommand)
    .command(keyCommand)
    .command(usageCommand)
    .command(limitCommand)
    .command(webhookCommand)
    .command(reportCommand)
    .command(loginCommand)
    .command(auditCommand)
    .command(cacheCommand)
    .demandCommand(
      1,
      'name a command: serve, status, config, db, user, key, usage, limit, webhook, report, login, audit or cache',
    )
    .strict()
    .recommendCommands()
    .completion('completion', 'print a shell completion script')
    .fail((message, error) => {
      if (error) throw error
      process.stderr.write(`parallama: ${message}\nRun 'parallama --help' for the commands and their options.\n`)
      process.exit(2)
    })
    .help()
}
