// `parallama webhook ...`: webhook subscriptions (docs/webhooks.md). A generated secret is printed once, to stdout
// only; one read from a file must be private to its owner (0600). Changes take effect on a running server without a
// restart: it reads subscriptions from the database when it queues events, and delivers rows the CLI queued (test).
import { readFileSync, statSync } from 'node:fs'
import type { Argv, CommandModule } from 'yargs'
import {
  addWebhook,
  checkEventPatterns,
  checkGivenSecret,
  checkWebhookUrl,
  deliveryAttempts,
  deliveryView,
  listWebhooks,
  recentDeliveries,
  removeWebhook,
  testWebhook,
  webhookView as view,
} from '../src/admin/webhooks.js'
import { CliError, guard, optionCheck, printJson, printTable, time } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

/** yargs turns an option given twice into an array: refused, rather than reaching the code as one. */
function givenOnce(args: object, ...options: string[]): void {
  for (const option of options) {
    const value: unknown = (args as Record<string, unknown>)[option]
    if (Array.isArray(value)) throw new CliError(`--${option}: give it once (it was given ${value.length} times)`, 2)
  }
}

function readSecretFile(file: string): string {
  let stat
  try {
    stat = statSync(file)
  } catch {
    throw new CliError(`--secret-file: cannot read ${file}`)
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new CliError(
      `--secret-file: ${file} may be read by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  }
  const secret = readFileSync(file, 'utf8').trim()
  try {
    return checkGivenSecret(secret)
  } catch (error) {
    throw new CliError(`--secret-file: ${(error as Error).message}`)
  }
}

type AddArgs = StoreArgs & { url: string; events: string; 'secret-file'?: string }

function add(args: AddArgs) {
  givenOnce(args, 'events', 'secret-file')
  const url = optionCheck('url', () => checkWebhookUrl(args.url))
  const events = optionCheck('events', () => checkEventPatterns(args.events))
  const given = args['secret-file'] !== undefined
  const fileSecret = given ? readSecretFile(args['secret-file']!) : undefined
  const { webhook, secret } = withStore(args, (store, _config, trail) =>
    addWebhook(store, trail, { url, events, secret: fileSecret }),
  )
  if (args.json) return printJson({ ...view(webhook), ...(given ? {} : { secret }) })
  if (given) {
    process.stdout.write(`${webhook.id}\n`)
    return
  }
  process.stdout.write(`${secret!}\n`)
  process.stderr.write(`webhook ${webhook.id} for ${webhook.events}: its signing secret is shown once, store it now.\n`)
}

function list(args: StoreArgs) {
  const webhooks = withStore(args, (store) => listWebhooks(store), 'read')
  const rows = webhooks.map(view)
  if (args.json) return printJson(rows)
  printTable(rows, ['id', 'url', 'events', 'source', 'created'])
}

function remove(args: StoreArgs & { id: string }) {
  const webhook = withStore(args, (store, _config, trail) => removeWebhook(store, trail, args.id))
  if (args.json) return printJson(view(webhook))
  process.stdout.write(`removed ${webhook.id} (${webhook.url}) and its deliveries\n`)
}

function test(args: StoreArgs & { id: string }) {
  const queued = withStore(args, (store, _config, trail) => testWebhook(store, trail, args.id))
  if (args.json) return printJson({ webhook: args.id, event_id: queued })
  process.stdout.write(
    `queued webhook.test ${queued} for ${args.id}; a running server sends it within webhooks.poll_interval ` +
      `('parallama webhook deliveries --webhook ${args.id}' shows the outcome)\n`,
  )
}

type DeliveriesArgs = StoreArgs & {
  webhook?: string
  state?: 'pending' | 'delivered' | 'dead'
  limit: number
  attempts: boolean
}

function deliveries(args: DeliveriesArgs) {
  givenOnce(args, 'webhook', 'state', 'limit')
  if (!Number.isInteger(args.limit) || args.limit < 1 || args.limit > 10_000) {
    throw new CliError('--limit: expected a whole number from 1 to 10000', 2)
  }
  const { rows, attempts } = withStore(
    args,
    (store) => {
      const found = recentDeliveries(store, { webhookId: args.webhook, state: args.state, limit: args.limit })
      return { rows: found.map(deliveryView), attempts: args.attempts ? deliveryAttempts(store, found) : [] }
    },
    'read',
  )
  if (args.attempts) {
    const each = attempts.map((attempt) => ({
      delivery: attempt.deliveryId,
      attempt: attempt.attempt,
      at: time(attempt.at),
      status: attempt.status,
      error: attempt.error,
    }))
    if (args.json) return printJson(each)
    return printTable(each, ['delivery', 'attempt', 'at', 'status', 'error'])
  }
  if (args.json) return printJson(rows)
  printTable(rows, [
    'id',
    'webhook',
    'type',
    'state',
    'attempts',
    'last_status',
    'last_error',
    'created',
    'next_attempt',
  ])
}

const id = (y: Argv) => y.positional('id', { type: 'string', demandOption: true, describe: 'the webhook id (wh_...)' })

export const webhookCommand: CommandModule = {
  command: 'webhook <command>',
  describe: 'manage webhooks (signed event deliveries)',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'add <url>',
        'subscribe a URL to events; prints a generated signing secret once',
        (y) =>
          y
            .positional('url', { type: 'string', demandOption: true, describe: 'http:// or https:// receiver' })
            .options({
              ...storeOptions,
              events: {
                type: 'string',
                demandOption: true,
                describe: "event types or patterns, comma-separated ('key.*,backend.down', '*')",
              },
              'secret-file': { type: 'string', describe: 'a 0600 file holding the whsec_ secret; default: generated' },
            }),
        guard(add),
      )
      .command('list', 'list webhooks (never their secrets)', (y) => y.options(storeOptions), guard(list))
      .command('remove <id>', 'remove a webhook and its deliveries', (y) => id(y).options(storeOptions), guard(remove))
      .command(
        'test <id>',
        'queue a webhook.test event for one webhook',
        (y) => id(y).options(storeOptions),
        guard(test),
      )
      .command(
        'deliveries',
        'recent deliveries: state, attempts, last status; dead letters with --state dead',
        (y) =>
          y.options({
            ...storeOptions,
            webhook: { type: 'string', describe: 'only this webhook' },
            state: { choices: ['pending', 'delivered', 'dead'] as const, describe: 'only deliveries in this state' },
            limit: { type: 'number', default: 50, describe: 'at most this many, newest first' },
            attempts: { type: 'boolean', default: false, describe: 'list each attempt of those deliveries instead' },
          }),
        guard(deliveries),
      )
      .demandCommand(1, 'name a webhook command: add, list, remove, test or deliveries')
      .strict(),
  handler: () => {},
}
