// The Batch API's parts, composed once at start: the rows (BatchStore), the files on disk (FileStorage), the runner,
// and the route handlers of /v1/files and /v1/batches over them.
import type { Principal } from '../auth/principal.js'
import type { Config } from '../config/schema.js'
import type { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Db } from '../store/database.js'
import { BatchRunner, type RunnerDeps } from '../batch/batchRunner.js'
import { BatchStore } from '../batch/batchStore.js'
import { FileStorage } from '../batch/fileStorage.js'
import { batchesHandlers } from './batchesApi.js'
import { filesHandlers } from './filesApi.js'
import type { JsonHandler } from './jsonRoute.js'

export interface BatchService {
  runner: BatchRunner
  handlers: Record<string, JsonHandler>
  /** Stops the runner and the sweep of files no row names. */
  stop(): void
}

export function startBatches(
  config: Config,
  db: Db,
  logger: Logger,
  deps: {
    runLine: RunnerDeps['runLine']
    owner: (userId: number, keyId: string | null) => Principal | GatewayError
    settings: () => Config['batch']
  },
): BatchService {
  const store = new BatchStore(db)
  const storage = new FileStorage(FileStorage.folderFor(config.database.path, config.batch.files_dir))
  const runner = new BatchRunner({
    store,
    storage,
    runLine: deps.runLine,
    owner: (batch) => deps.owner(batch.userId, batch.keyId),
    settings: () => {
      const current = deps.settings()
      return { maxInFlight: current.max_in_flight, pauseMs: current.pause_on_limit }
    },
    now: Date.now,
    logger,
  })
  const handlers = {
    ...filesHandlers({
      store,
      storage,
      maxFileBytes: () => deps.settings().max_file_bytes,
      inUse: (fileId) => runner.usesFile(fileId),
    }),
    ...batchesHandlers({ store, wake: (id) => runner.wake(id) }),
  }
  runner.start()
  const sweep = () => {
    const removed = storage.sweep((id) => store.hasFile(id), Date.now(), orphanMinAgeMs)
    if (removed > 0) logger.info('batch files removed that no row names', { removed })
  }
  sweep()
  const sweeper = setInterval(sweep, sweepEveryMs).unref()
  return {
    runner,
    handlers,
    stop: () => {
      runner.stop()
      clearInterval(sweeper)
    },
  }
}

/** Files no row names are looked for hourly, and removed once an hour old (an upload renames before its row lands). */
const sweepEveryMs = 3600_000
const orphanMinAgeMs = 3600_000
