// `parallama usage report|top|export`: who used what, from the hourly rollups (reports) or the per-request rows
// (export, streamed so that millions of rows never sit in memory).
import { normalizeModel } from '../src/auth/modelAllowList.js'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import type { Argv, CommandModule } from 'yargs'
import { recordOk, type AuditTrail } from '../src/admin/auditTrail.js'
import { parseInstant } from '../src/config/schemaTypes.js'
import { UsageStore, type GroupBy, type UsageFilter } from '../src/store/usage.js'
import type { Store } from '../src/store/store.js'
import { csvField } from '../src/usage/csv.js'
import { CliError, guard, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

const filterOptions = {
  user: { type: 'string', describe: 'only this user' },
  key: { type: 'string', describe: 'only this key id' },
  model: { type: 'string', describe: 'only this model' },
  api: { type: 'string', choices: ['ollama', 'openai'], describe: 'only this API' },
  since: {
    type: 'string',
    default: '7d',
    describe: 'start: a duration back from now (7d, 12h) or a date (2026-11-01)',
  },
  until: { type: 'string', describe: 'end (exclusive): a duration back from now or a date; default now' },
} as const

type FilterArgs = StoreArgs & {
  user?: string
  key?: string
  model?: string
  api?: string
  since: string
  until?: string
}

function pointInTime(text: string, option: string): number {
  const at = parseInstant(text)
  if (at === undefined) {
    throw new CliError(`--${option}: expected a duration (7d, 12h) or a date (2026-11-01), got "${text}"`, 2)
  }
  return at
}

function filterOf(args: FilterArgs, store: Store): UsageFilter {
  return {
    since: pointInTime(args.since, 'since'),
    until: args.until === undefined ? undefined : pointInTime(args.until, 'until'),
    userId: args.user === undefined ? undefined : store.users.get(args.user).id,
    keyId: args.key,
    // Rows record a model in Ollama's normal form (llama3.2 -> llama3.2:latest).
    model: args.model === undefined ? undefined : normalizeModel(args.model),
    api: args.api,
  }
}

/** A report's rows, the read recorded in the audit log first (usage.export, with the filter). */
function reportRows(store: Store, trail: AuditTrail, args: FilterArgs & { by: GroupBy }) {
  const filter = filterOf(args, store)
  recordOk(trail, 'usage.export', args.user === undefined ? null : `user:${args.user}`, usageQuery(args))
  return new UsageStore(store.db).report(filter, args.by)
}

/** The filter as the audit row keeps it. */
function usageQuery(args: FilterArgs & { by?: string; format?: string }) {
  const { user, key, model, api, since, until, by, format } = args
  return { user, key, model, api, since, until, by, format }
}

const columns = ['group', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost']

function report(args: FilterArgs & { by: GroupBy }) {
  const rows = withStore(args, (store, _config, trail) => reportRows(store, trail, args), 'read')
  if (args.json) return printJson(rows)
  printTable(
    rows.map((row) => ({ ...row, group: row.group, cost: row.cost.toFixed(4) })),
    columns,
  )
}

function top(args: FilterArgs & { by: GroupBy; limit: number }) {
  if (!Number.isSafeInteger(args.limit) || args.limit < 1) {
    throw new CliError(`--limit: expected a whole number of rows, 1 or more, got "${args.limit}"`, 2)
  }
  const rows = withStore(args, (store, _config, trail) => reportRows(store, trail, args), 'read').slice(0, args.limit)
  if (args.json) return printJson(rows)
  printTable(
    rows.map((row) => ({ ...row, cost: row.cost.toFixed(4) })),
    columns,
  )
}

const exportColumns = [
  'request_id',
  'time',
  'user',
  'key_id',
  'api',
  'route',
  'model',
  'backend',
  'status',
  'error_code',
  'prompt_tokens',
  'completion_tokens',
  'tokens',
  'ttfb_ms',
  'duration_ms',
  'bytes_in',
  'bytes_out',
  'client_ip',
  'client_aborted',
  'cost',
  // Last, so that scripts reading the older columns by position keep working.
  'queue_ms',
]

async function exportRows(args: FilterArgs & { format: 'csv' | 'jsonl'; output?: string }) {
  let count = 0
  await withStore(
    args,
    async (store, _config, trail) => {
      // Every option is checked (and the query prepared) before the first byte is written or the file created.
      const rows = new UsageStore(store.db).rows(filterOf(args, store))
      recordOk(trail, 'usage.export', args.user === undefined ? null : `user:${args.user}`, usageQuery(args))
      const sink: Writable = args.output ? createWriteStream(args.output, { mode: 0o600 }) : process.stdout
      const write = (line: string) =>
        sink.write(line) ? undefined : new Promise((resolve) => sink.once('drain', resolve))
      if (args.format === 'csv') await write(exportColumns.join(',') + '\n')
      for (const row of rows) {
        const line =
          args.format === 'csv' ? exportColumns.map((column) => csvField(row[column])).join(',') : JSON.stringify(row)
        await write(line + '\n')
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
  if (args.output) {
    process.stderr.write(`${count} rows written to ${args.output}\n`)
  }
}

const by = { choices: ['hour', 'day', 'model', 'user', 'key', 'api'] as const, describe: 'group rows by' }

export const usageCommand: CommandModule = {
  command: 'usage <command>',
  describe: 'usage reports and exports',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'report',
        'totals grouped by hour, day, model, user, key or API',
        (y) => y.options({ ...storeOptions, ...filterOptions, by: { ...by, default: 'day' } }),
        guard(report),
      )
      .command(
        'top',
        'the heaviest users (or models, keys) in a window',
        (y) =>
          y.options({
            ...storeOptions,
            ...filterOptions,
            since: { ...filterOptions.since, default: '24h' },
            by: { ...by, default: 'user' },
            limit: { type: 'number', default: 10, describe: 'rows shown' },
          }),
        guard(top),
      )
      .command(
        'export',
        'every request row, as CSV or JSON lines',
        (y) =>
          y.options({
            ...storeOptions,
            ...filterOptions,
            format: { choices: ['csv', 'jsonl'] as const, default: 'csv' as const, describe: 'output format' },
            output: { type: 'string', describe: 'write to this file (0600) instead of stdout' },
          }),
        guard(exportRows),
      )
      .demandCommand(1, 'name a usage command: report, top or export'),
  handler: () => {},
}
