#!/usr/bin/env node
// The `parallama` command: one file per command group, each operating on the config (and later the SQLite file).
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { configCommand } from './config.js'
import { dbCommand } from './db.js'
import { keyCommand } from './key.js'
import { limitCommand } from './limit.js'
import { endQuietlyWhenOutputCloses } from './output.js'
import { serveCommand } from './serve.js'
import { statusCommand } from './status.js'
import { usageCommand } from './usage.js'
import { userCommand } from './user.js'
import { webhookCommand } from './webhook.js'

endQuietlyWhenOutputCloses()

await yargs(hideBin(process.argv))
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
  .demandCommand(1, 'name a command: serve, status, config, db, user, key, usage, limit or webhook')
  .strict()
  .recommendCommands()
  .completion('completion', 'print a shell completion script')
  .fail((message, error) => {
    if (error) throw error
    process.stderr.write(`parallama: ${message}\nRun 'parallama --help' for the commands and their options.\n`)
    process.exit(2)
  })
  .help()
  .parseAsync()
