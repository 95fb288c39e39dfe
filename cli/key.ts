// `parallama key ...`: API keys. A new key is printed once, to stdout only; the database keeps its SHA-256.
import type { Argv, CommandModule } from 'yargs'
import { createKey, getKey, listKeys, revokeKey, rotateKeyOf } from '../src/admin/keys.js'
import { keyView as view } from '../src/auth/keyView.js'
import { isoTime as time, parseLifetime } from '../src/store/bounds.js'
import { CliError, guard, printFields, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

/** The same parser and bounds as the API's `expires_in` (at most ten years); a usage error naming the option. */
function duration(text: string | undefined, option: string, allowZero: boolean): number | undefined {
  if (text === undefined) return undefined
  try {
    return parseLifetime(`--${option}`, text, { allowZero })
  } catch {
    const examples = allowZero ? '12h, 30d or 0' : '12h or 30d'
    throw new CliError(`--${option}: expected a duration such as ${examples}, at most 3650d, got "${text}"`, 2)
  }
}

type CreateArgs = StoreArgs & { user: string; name?: string; description?: string; models?: string; expires?: string }

function create(args: CreateArgs) {
  const expiresIn = duration(args.expires, 'expires', false)
  const models =
    args.models === undefined
      ? null
      : args.models
          .split(',')
          .map((model) => model.trim())
          .filter(Boolean)
  const issued = withStore(args, (store, _config, trail) =>
    createKey(store, trail, {
      user: args.user,
      name: args.name,
      description: args.description,
      models,
      expiresAt: expiresIn === undefined ? null : Date.now() + expiresIn,
    }),
  )
  if (args.json) return printJson({ ...view(issued.record), key: issued.key })
  process.stdout.write(`${issued.key}\n`)
  process.stderr.write(`API key ${issued.record.id} for ${issued.record.username}: shown once, store it now.\n`)
}

function list(args: StoreArgs & { user?: string }) {
  const keys = withStore(args, (store) => listKeys(store, args.user))
  const rows = keys.map((key) => view(key))
  if (args.json) return printJson(rows)
  printTable(rows, ['id', 'user', 'prefix', 'name', 'models', 'state', 'expires', 'last_used'])
}

function show(args: StoreArgs & { id: string }) {
  const shown = view(withStore(args, (store) => getKey(store, args.id)))
  if (args.json) return printJson(shown)
  printFields(shown)
}

function revoke(args: StoreArgs & { id: string }) {
  const key = withStore(args, (store, _config, trail) => revokeKey(store, trail, args.id))
  if (args.json) return printJson(view(key))
  process.stdout.write(`revoked ${key.id} (${key.username}); a running server stops accepting it within a second\n`)
}

function rotate(args: StoreArgs & { id: string; grace?: string }) {
  const { issued, old } = withStore(args, (store, config, trail) =>
    rotateKeyOf(store, trail, args.id, duration(args.grace, 'grace', true) ?? config.auth.rotation_grace),
  )
  if (args.json) return printJson({ ...view(issued.record), key: issued.key, replaces: view(old) })
  process.stdout.write(`${issued.key}\n`)
  process.stderr.write(
    `API key ${issued.record.id} replaces ${args.id}, which works until ${time(old.validUntil)}: shown once, store it now.\n`,
  )
}

const id = (y: Argv) =>
  y.positional('id', { type: 'string', demandOption: true, describe: 'the key id (plm_<id>_...)' })

export const keyCommand: CommandModule = {
  command: 'key <command>',
  describe: 'manage API keys',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'create',
        'create a key for a user and print it once',
        (y) =>
          y.options({
            ...storeOptions,
            user: { type: 'string', demandOption: true, describe: 'the owner' },
            name: { type: 'string', describe: 'a name for lists' },
            description: { type: 'string', describe: 'what the key is for' },
            models: {
              type: 'string',
              describe: 'allowed models, comma-separated (llama3.2:3b,qwen2.5:*); default all',
            },
            expires: { type: 'string', describe: 'lifetime such as 30d or 12h; default never' },
          }),
        guard(create),
      )
      .command(
        'list',
        'list keys',
        (y) => y.options({ ...storeOptions, user: { type: 'string', describe: 'only this user' } }),
        guard(list),
      )
      .command('show <id>', 'show one key', (y) => id(y).options(storeOptions), guard(show))
      .command('revoke <id>', 'stop a key at once', (y) => id(y).options(storeOptions), guard(revoke))
      .command(
        'rotate <id>',
        'issue a successor; the old key keeps working for the grace period',
        (y) =>
          id(y).options({
            ...storeOptions,
            grace: { type: 'string', describe: 'default auth.rotation_grace (24h); 0 = now' },
          }),
        guard(rotate),
      )
      .demandCommand(1, 'name a key command'),
  handler: () => {},
}
