#!/usr/bin/env node
// The `parallama` command: one file per command group (commands.ts lists them), each operating on the config (and
// later the SQLite file).
import { hideBin } from 'yargs/helpers'
import { commandTree } from './commands.js'
import { endQuietlyWhenOutputCloses } from './output.js'

endQuietlyWhenOutputCloses()

await commandTree(hideBin(process.argv)).parseAsync()
