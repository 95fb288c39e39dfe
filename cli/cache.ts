// `parallama cache stats|purge`: the response cache's persistent tier in the database file, safe beside a running
// server. A purge reaches every running server's memory tier through the change feed (within auth.change_poll); the
// memory tier's own numbers live in the server: GET /admin/v1/cache and the parallama_cache_* metrics.
import type { Argv, CommandModule } from 'yargs'
import { persistentCacheStats, purgeCache } from '../src/admin/cache.js'
import { CliError, guard, printJson, printTable } from './output.js'
import { storeOptions, withStore, type StoreArgs } from './storeAccess.js'

function stats(args: StoreArgs) {
  const { numbers, config } = withStore(
    args,
    (store, config) => ({ numbers: persistentCacheStats(store), config: config.cache }),
    'read',
  )
  const view = {
    enabled: config.enabled,
    persist: config.persist,
    entries: numbers.entries,
    bytes: numbers.bytes,
    expired: numbers.expired,
  }
  if (args.json) return printJson({ persistent: view })
  printTable([view], ['enabled', 'persist', 'entries', 'bytes', 'expired'])
  process.stderr.write(
    "the persistent tier (database); a running server's memory tier: GET /admin/v1/cache, or the parallama_cache_* metrics\n",
  )
}

type PurgeArgs = StoreArgs & { model?: string; user?: string }

function purge(args: PurgeArgs) {
  for (const option of ['model', 'user'] as const) {
    const value: unknown = args[option]
    if (Array.isArray(value)) throw new CliError(`--${option}: give it once (it was given ${value.length} times)`, 2)
    if (value === '') throw new CliError(`--${option}: expected a name`, 2)
  }
  const done = withStore(args, (store, _config, trail) =>
    purgeCache(store, trail, { model: args.model, user: args.user }, undefined),
  )
  if (args.json) return printJson(done)
  const what = [done.model && `model ${done.model}`, done.user && `user ${done.user}`].filter(Boolean).join(', ')
  process.stdout.write(
    `purged ${done.persistent} stored ${done.persistent === 1 ? 'reply' : 'replies'} (${what || 'all'}); ` +
      'running servers drop the same from memory within auth.change_poll\n',
  )
}

export const cacheCommand: CommandModule = {
  command: 'cache <command>',
  describe: 'the response cache: its numbers, and purges',
  builder: (yargs: Argv) =>
    yargs
      .command(
        'stats',
        "the persistent tier's entries and bytes (the memory tier's: GET /admin/v1/cache)",
        (y) => y.options(storeOptions),
        guard(stats),
      )
      .command(
        'purge',
        'purge cached replies, of a model and/or a user (all without either); reaches running servers',
        (y) =>
          y.options({
            ...storeOptions,
            model: { type: 'string', describe: 'only replies of this model' },
            user: { type: 'string', describe: "only this user's replies" },
          }),
        guard(purge),
      )
      .demandCommand(1, 'name a cache command: stats or purge')
      .strict(),
  handler: () => {},
}
