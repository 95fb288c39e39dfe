// `parallama key ...`: API keys. A new key is printed once, to stdout only; the database keeps its SHA-256.
import type { Argv, CommandModule } from 'yargs'
import { createKey, getKey, listKeys, revokeKey, rotateKeyOf, setKeyAllowIp } from '../src/admin/keys.js'
import type { IssuedKey } from '../src/auth/keyIssuer.js'
import { issuedView, keyView as view } from '../src/auth/keyView.js'
import { splitRanges } from '../src/limits/addressList.js'
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

type CreateArgs = StoreArgs & {
  user: string
  name?: string
  description?: string
  models?: string
  expires?: string
  signed?: boolean
  allowIp?: string
}

/** `--allow-ip`: comma-separated ranges; `any` (or nothing given) for every address. */
export function allowIpOption(text: string | undefined): string[] | null {
  if (text === undefined || text.trim() === 'any') return null
  return splitRanges(text)
}

/** A new key printed once: the key on stdout's first line, a signed key's signing secret on the second. */
function printIssued(issued: IssuedKey, more: Record<string, unknown>, json: boolean | undefined, note: string) {
  if (json) return printJson({ ...issuedView(issued), ...more })
  process.stdout.write(`${issued.key}\n`)
  if (issued.signingSecret !== undefined) process.stdout.write(`${issued.signingSecret}\n`)
  const secret = issued.signingSecret === undefined ? '' : ' The second line is its signing secret (docs/signing.md).'
  process.stderr.write(`${note}: shown once, store it now.${secret}\n`)
}

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
      signed: args.signed ?? false,
      allowIp: allowIpOption(args.allowIp),
    }),
  )
  printIssued(issued, {}, args.json, `API key ${issued.record.id} for ${issued.record.username}`)
}

function update(args: StoreArgs & { id: string; allowIp?: string }) {
  if (args.allowIp === undefined) throw new CliError('name what to change: --allow-ip CIDR,... (or any)', 2)
  const key = withStore(args, (store, _config, trail) =>
    setKeyAllowIp(store, trail, args.id, allowIpOption(args.allowIp)),
  )
  if (args.json) return printJson(view(key))
  const where = key.allowIp === null ? 'any address' : key.allowIp.join(', ')
  process.stdout.write(`${key.id} may now be used from ${where}; a running server applies it within a second\n`)
}

function list(args: StoreArgs & { user?: string }) {
  const keys = withStore(args, (store) => listKeys(store, args.user))
  const rows = keys.map((key) => view(key))
  if (args.json) return printJson(rows)
  printTable(rows, ['id', 'user', 'prefix', 'name', 'models', 'state', 'expires', 'last_used', 'signed', 'allow_ip'])
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
  const note = `API key ${issued.record.id} replaces ${args.id}, which works until ${time(old.validUntil)}`
  printIssued(issued, { replaces: view(old) }, args.json, note)
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
            signed: {
              type: 'boolean',
              describe: 'requests must be signed; prints a signing secret once (docs/signing.md)',
            },
            'allow-ip': {
              type: 'string',
              describe: 'client address ranges it may be used from (10.0.0.0/8,::1); default any',
            },
          }),
        guard(create),
      )
      .command(
        'update <id>',
        "change a key's address allow-list",
        (y) =>
          id(y).options({
            ...storeOptions,
            'allow-ip': { type: 'string', describe: 'client address ranges (10.0.0.0/8,::1), or any' },
          }),
        guard(update),
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
