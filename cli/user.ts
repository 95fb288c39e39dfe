// `parallama user ...`: who may use the gateway. Works on the SQLite file; a running server sees changes within a
// second through the change feed.
import { createInterface } from 'node:readline/promises'
import type { Argv, CommandModule } from 'yargs'
import { hashPassword, passwordProblem } from '../src/auth/passwords.js'
import { roles, type Role } from '../src/auth/permissions.js'
import { isWeight, weightExpected } from '../src/auth/weights.js'
import {
  addUser,
  changeUser,
  getUser,
  keysOfUser,
  listUsers,
  removeUser,
  setUserPassword,
  userView as view,
} from '../src/admin/users.js'
import { listKeys } from '../src/admin/keys.js'
import { allowIpOption } from './key.js'
import { CliError, guard, printFields, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

/** Reads a password from stdin (one line), so it never appears in the process list or shell history. */
async function readPassword(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false })
  for await (const line of lines) {
    lines.close()
    const problem = passwordProblem(line)
    if (problem) throw new CliError(problem)
    return line
  }
  throw new CliError('no password on stdin (pipe it in, or use --no-password)')
}

type Args = StoreArgs & { username: string }

const name = (y: Argv) => y.positional('username', { type: 'string', demandOption: true, describe: 'the username' })

async function add(
  args: Args & { role: Role; email?: string; displayName?: string; passwordStdin: boolean; password: boolean },
) {
  if (args.passwordStdin === !args.password) {
    throw new CliError('choose one: --password-stdin (read a password) or --no-password (keys only)', 2)
  }
  const passwordHash = args.passwordStdin ? await hashPassword(await readPassword()) : null
  const user = withStore(args, (store, _config, trail) =>
    addUser(store, trail, {
      username: args.username,
      role: args.role,
      email: args.email,
      displayName: args.displayName,
      passwordHash,
    }),
  )
  if (args.json) return printJson(view(user))
  process.stdout.write(`added user ${user.username} (${user.role})\n`)
}

function list(args: StoreArgs) {
  const rows = withStore(args, (store) => listUsers(store).map(({ user, keys }) => view(user, keys)))
  if (args.json) return printJson(rows)
  printTable(rows, ['username', 'role', 'active', 'weight', 'email', 'password', 'keys', 'created', 'last_login'])
}

function show(args: Args) {
  const shown = withStore(args, (store) => {
    const keys = listKeys(store, args.username)
    return { ...view(getUser(store, args.username), keys.length), key_ids: keys.map((key) => key.id) }
  })
  if (args.json) return printJson(shown)
  printFields(shown)
}

function setRole(args: Args & { role: Role }) {
  const user = withStore(args, (store, _config, trail) => changeUser(store, trail, args.username, { role: args.role }))
  if (args.json) return printJson(view(user))
  process.stdout.write(`${user.username} is now ${user.role}\n`)
}

/** A weight as typed: a plain decimal number (no hex, no Infinity, no blank) within the bounds. */
export function parseWeight(text: string): number {
  const value = /^\s*(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) ? Number(text) : NaN
  if (!isWeight(value)) throw new CliError(`weight: expected ${weightExpected}, got ${JSON.stringify(text)}`, 2)
  return value
}

function setWeight(args: Args & { weight: string }) {
  const weight = parseWeight(args.weight)
  const user = withStore(args, (store, _config, trail) => changeUser(store, trail, args.username, { weight }))
  if (args.json) return printJson(view(user))
  process.stdout.write(`${user.username} now has weight ${user.weight}\n`)
}

function setAllowIp(args: Args & { ranges: string }) {
  const allowIp = allowIpOption(args.ranges)
  const user = withStore(args, (store, _config, trail) => changeUser(store, trail, args.username, { allowIp }))
  if (args.json) return printJson(view(user))
  const where = user.allowIp === null ? 'any address' : user.allowIp.join(', ')
  process.stdout.write(`${user.username}'s keys and sessions may now be used from ${where}\n`)
}

function setActive(active: boolean) {
  return (args: Args) => {
    const user = withStore(args, (store, _config, trail) => changeUser(store, trail, args.username, { active }))
    if (args.json) return printJson(view(user))
    const effect = active
      ? 'enabled: its keys work again (log in again for a session)'
      : 'disabled: its keys stop working, its login sessions end'
    process.stdout.write(`${user.username} ${effect}\n`)
  }
}

async function passwd(args: Args & { password: boolean }) {
  const passwordHash = args.password ? await hashPassword(await readPassword()) : null
  const user = withStore(args, (store, _config, trail) => setUserPassword(store, trail, args.username, passwordHash))
  if (args.json) return printJson(view(user))
  const what = passwordHash ? 'password set' : 'password removed (keys only)'
  process.stdout.write(`${user.username}: ${what}; every login session of the user has ended\n`)
}

async function remove(args: Args & { yes: boolean }) {
  const counted = withStore(args, (store) => keysOfUser(store, args.username))
  if (!args.yes) {
    if (!process.stdin.isTTY)
      throw new CliError(`deleting ${args.username} also deletes ${counted} API key(s); add --yes to confirm`, 2)
    const prompt = createInterface({ input: process.stdin, output: process.stderr })
    const answer = await prompt.question(`Delete ${args.username} with ${counted} API key(s) and every session? [y/N] `)
    prompt.close()
    if (answer.trim().toLowerCase() !== 'y') throw new CliError('not deleted')
  }
  const { user, keys } = withStore(args, (store, _config, trail) => removeUser(store, trail, args.username))
  if (args.json) return printJson({ deleted: user.username, keys })
  process.stdout.write(`deleted ${user.username} and ${keys} API key(s)\n`)
}

const roleOption = { choices: roles, describe: 'the role' } as const

export const userCommand: CommandModule = {
  command: 'user <command>',
  describe: 'manage users',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'add <username>',
        'add a user',
        (y) =>
          name(y).options({
            ...storeOptions,
            role: { ...roleOption, default: 'user' },
            email: { type: 'string', describe: 'email address' },
            'display-name': { type: 'string', describe: 'name shown in lists' },
            'password-stdin': { type: 'boolean', default: false, describe: 'read a password (one line) from stdin' },
            password: { type: 'boolean', default: true, describe: 'use --no-password for a user who only has keys' },
          }),
        guard(add),
      )
      .command('list', 'list users', (y) => y.options(storeOptions), guard(list))
      .command('show <username>', 'show one user', (y) => name(y).options(storeOptions), guard(show))
      .command(
        'set-role <username> <role>',
        "change a user's role",
        (y) =>
          name(y)
            .positional('role', { ...roleOption, demandOption: true })
            .options(storeOptions),
        guard(setRole),
      )
      .command(
        'set-weight <username> <weight>',
        "change a user's weight under contention (2 = twice the share of a weight-1 user while requests wait)",
        (y) =>
          name(y)
            .positional('weight', { type: 'string', demandOption: true, describe: weightExpected })
            .options(storeOptions),
        guard(setWeight),
      )
      .command(
        'set-allow-ip <username> <ranges>',
        'limit where every key and session of a user may be used from (10.0.0.0/8,::1), or any',
        (y) =>
          name(y)
            .positional('ranges', {
              type: 'string',
              demandOption: true,
              describe: 'CIDR ranges, comma-separated, or any',
            })
            .options(storeOptions),
        guard(setAllowIp),
      )
      .command(
        'disable <username>',
        'stop a user (every key and session)',
        (y) => name(y).options(storeOptions),
        guard(setActive(false)),
      )
      .command(
        'enable <username>',
        'let a disabled user back in',
        (y) => name(y).options(storeOptions),
        guard(setActive(true)),
      )
      .command(
        'passwd <username>',
        'set a password from stdin (--no-password removes it)',
        (y) => name(y).options({ ...storeOptions, password: { type: 'boolean', default: true } }),
        guard(passwd),
      )
      .command(
        'delete <username>',
        'delete a user with their keys and sessions',
        (y) => name(y).options({ ...storeOptions, yes: { type: 'boolean', default: false, describe: 'do not ask' } }),
        guard(remove),
      )
      .demandCommand(1, 'name a user command'),
  handler: () => {},
}
