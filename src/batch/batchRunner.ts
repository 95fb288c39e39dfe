// Runs the batches: validates a new batch's file, then dispatches its pending lines (a few at a time over all batches,
// batch.max_in_flight) as normal requests of the owner (runLine), settles each line's result and state in one write,
// and writes the output and error files once no line is pending. Everything it needs to go on is in SQLite, so after a
// restart (even kill -9) it resumes: a line settled is never run again; a line that was in flight at the kill was not
// settled and runs again (at least once toward the backend, exactly once in the output file).
// A 429 (the owner's rate limit or quota) or a 503 (queue full, shutting down) pauses the batch: the line stays
// pending and the batch waits batch.pause_on_limit before it dispatches again.
import { open } from 'node:fs/promises'
import { GatewayError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Principal } from '../auth/principal.js'
import type { BatchRow, BatchStatus, BatchStore, PendingLine } from './batchStore.js'
import type { FileStorage } from './fileStorage.js'
import { scanInput } from './inputScan.js'
import { lineBody, type BatchEndpoint } from './lineCheck.js'
import { errorLine, resultLine } from './resultLines.js'
import { writeResultFiles } from './resultFiles.js'
import type { SyntheticAnswer } from './syntheticHttp.js'

export interface RunnerDeps {
  store: BatchStore
  storage: FileStorage
  runLine: (line: {
    owner: () => Principal | GatewayError
    endpoint: BatchEndpoint
    body: Buffer
    requestId: string
  }) => Promise<SyntheticAnswer>
  owner: (batch: BatchRow) => Principal | GatewayError
  settings: () => { maxInFlight: number; pauseMs: number }
  /** ms since epoch. */
  now: () => number
  logger: Logger
}

/** What the runner keeps in memory per batch: where dispatch stands, and what is running. */
interface Running {
  batch: BatchRow
  /** The last line dispatched (lines after it are next). */
  cursor: number
  inFlight: Set<number>
  pausedUntil: number
  /** Validation or finalizing in progress. */
  busy: boolean
}

const retried = new Set([429, 503])

/** What the runner did since start, for the metrics (parallama_batch_*). */
export interface BatchCounts {
  /** Lines settled, by whether their request succeeded. */
  lines: { succeeded: number; failed: number }
  /** Lines put back because the owner's limit or quota (429) or the gateway (503) said wait. */
  paused: number
  /** Batches ended, by their final status. */
  ended: Record<'completed' | 'failed' | 'expired' | 'cancelled', number>
}

export class BatchRunner {
  private readonly running = new Map<string, Running>()
  private inFlight = 0
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private turn = 0
  readonly counts: BatchCounts = {
    lines: { succeeded: 0, failed: 0 },
    paused: 0,
    ended: { completed: 0, failed: 0, expired: 0, cancelled: 0 },
  }

  constructor(private readonly deps: RunnerDeps) {}

  /** Picks up every batch not ended (after a restart: where it stopped). */
  start(): void {
    for (const batch of this.deps.store.activeBatches()) this.track(batch)
    this.pump()
  }

  /** A new batch, or a cancel: look again now. */
  wake(id?: string): void {
    if (id !== undefined) {
      const batch = this.deps.store.batch(id)
      if (batch) {
        const known = this.running.get(id)
        if (known) known.batch = batch
        else this.track(batch)
      }
    }
    this.pump()
  }

  /** Whether a batch not ended reads this file. */
  usesFile(fileId: string): boolean {
    for (const { batch } of this.running.values()) if (batch.inputFileId === fileId) return true
    return false
  }

  /** Stops dispatching; the lines in flight end on their own (unsettled ones run again after the restart). */
  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Batches not ended that this runner works on. */
  get active(): number {
    return this.running.size
  }

  get linesInFlight(): number {
    return this.inFlight
  }

  private track(batch: BatchRow): void {
    this.running.set(batch.id, { batch, cursor: 0, inFlight: new Set(), pausedUntil: 0, busy: false })
  }

  /** Dispatches what it can, round-robin over the batches, and moves batches on whose lines are all settled. */
  private pump(): void {
    if (this.stopped) return
    const now = this.deps.now()
    let wakeAt = Infinity
    const batches = [...this.running.values()]
    for (const run of batches) {
      if (run.busy) continue
      const { status } = run.batch
      if (status === 'validating') this.background(run, this.validate(run))
      else if (status === 'finalizing') this.background(run, this.finalize(run, 'completed'))
      else if ((status === 'in_progress' || status === 'cancelling') && run.inFlight.size === 0)
        this.maybeFinish(run, now)
    }
    // Lines, one per batch per round, so that one large batch does not hold every place.
    let progressed = true
    while (progressed && this.inFlight < this.deps.settings().maxInFlight) {
      progressed = false
      const order = [...this.running.values()]
      for (let i = 0; i < order.length && this.inFlight < this.deps.settings().maxInFlight; i++) {
        const run = order[(i + this.turn) % order.length]!
        if (run.busy || run.batch.status !== 'in_progress' || this.expired(run, now)) continue
        if (run.pausedUntil > now) {
          wakeAt = Math.min(wakeAt, run.pausedUntil)
          continue
        }
        const [line] = this.deps.store.pendingLines(run.batch.id, run.cursor, 1)
        if (!line) continue
        run.cursor = line.line
        this.dispatch(run, line)
        progressed = true
      }
      this.turn++
    }
    clearTimeout(this.timer)
    if (wakeAt !== Infinity) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, wakeAt - now))
      this.timer.unref()
    }
  }

  /** Whether the batch is past its completion window (it then ends as expired once its lines in flight are done). */
  private expired(run: Running, now: number): boolean {
    return Math.floor(now / 1000) >= run.batch.expiresAt
  }

  /** A batch with nothing in flight: finished when no line is pending, cancelled or expired when asked. */
  private maybeFinish(run: Running, now: number): void {
    if (run.batch.status === 'cancelling') return this.background(run, this.finalize(run, 'cancelled'))
    if (this.expired(run, now)) return this.background(run, this.finalize(run, 'expired'))
    if (this.deps.store.pendingLines(run.batch.id, 0, 1).length === 0) {
      if (this.deps.store.setStatus(run.batch.id, ['in_progress'], 'finalizing', Math.floor(now / 1000))) {
        run.batch = this.deps.store.batch(run.batch.id)!
        this.background(run, this.finalize(run, 'completed'))
      } else if (!this.deps.store.batch(run.batch.id)) {
        // Its owner was deleted (the rows went with them): nothing is left to run or to write.
        this.untrack(run.batch.id)
      }
    }
  }

  private dispatch(run: Running, line: PendingLine): void {
    run.inFlight.add(line.line)
    this.inFlight++
    this.runOne(run, line)
      .catch((error: unknown) => {
        // Our side failed (the input file unreadable, the database busy): the line stays pending and the batch pauses,
        // rather than trying the same line again at once, forever.
        this.deps.logger.error('a batch line failed', { batch: run.batch.id, line: line.line, err: error })
        this.pause(run, line)
      })
      .finally(() => {
        run.inFlight.delete(line.line)
        this.inFlight--
        this.pump()
      })
  }

  private async runOne(run: Running, line: PendingLine): Promise<void> {
    const { batch } = run
    const body = await readLineBody(this.deps.storage.pathOf(batch.inputFileId), line)
    const requestId = `${batch.id}:${line.line}`
    const answer = await this.deps.runLine({
      owner: () => this.deps.owner(batch),
      endpoint: batch.endpoint as BatchEndpoint,
      body,
      requestId,
    })
    if (retried.has(answer.status)) return this.pause(run, line)
    const succeeded = answer.status >= 200 && answer.status < 300
    this.deps.store.settleLine(batch.id, line.line, succeeded, resultLine(requestId, line.customId, answer))
    this.counts.lines[succeeded ? 'succeeded' : 'failed']++
  }

  /**
   * A validation or a finalizing running on its own: a failure (the disk full, the batch's owner deleted meanwhile) is
   * logged and tried again on a later round, never left to end the process as an unhandled rejection.
   */
  private background(run: Running, work: Promise<void>): void {
    work.catch((error: unknown) => this.deps.logger.error('a batch step failed', { batch: run.batch.id, err: error }))
  }

  /** The line stays pending; the batch waits batch.pause_on_limit, then goes on from its first pending line. */
  private pause(run: Running, line: PendingLine): void {
    this.counts.paused++
    run.pausedUntil = this.deps.now() + this.deps.settings().pauseMs
    run.cursor = Math.min(run.cursor, line.line - 1)
  }

  private async validate(run: Running): Promise<void> {
    run.busy = true
    const { batch } = run
    try {
      const scanned = await scanInput(this.deps.storage.pathOf(batch.inputFileId), batch.endpoint)
      // Its owner deleted meanwhile (the rows went with them): nothing to start, nor an error file for nobody.
      if (!this.deps.store.batch(batch.id)) return this.untrack(batch.id)
      const now = Math.floor(this.deps.now() / 1000)
      if (scanned.ok) {
        // Not started when it was cancelled meanwhile: it ends as cancelled on the next round (nothing ran).
        this.deps.store.startLines(batch.id, scanned.lines, now)
      } else {
        const errorFile = await writeResultFiles(
          this.deps,
          batch,
          [],
          scanned.errors.map((error) => errorLine(error)),
        )
        const errors = JSON.stringify(scanned.errors.slice(0, 1000))
        if (this.deps.store.failValidation(batch.id, errors, errorFile.error, now)) {
          this.counts.ended.failed++
          return this.untrack(batch.id)
        }
        // Cancelled while it validated: it ends as cancelled on the next round (nothing ran), without the error file.
        if (errorFile.error) await this.deps.storage.remove(errorFile.error.id)
      }
      const current = this.deps.store.batch(batch.id)
      if (!current) return this.untrack(batch.id)
      run.batch = current
    } finally {
      run.busy = false
      this.pump()
    }
  }

  private async finalize(
    run: Running,
    status: Extract<BatchStatus, 'completed' | 'cancelled' | 'expired'>,
  ): Promise<void> {
    run.busy = true
    const { batch } = run
    try {
      const { store } = this.deps
      if (!store.batch(batch.id)) return this.untrack(batch.id)
      const written = await writeResultFiles(
        this.deps,
        batch,
        store.results(batch.id, true),
        store.results(batch.id, false),
      )
      store.finish(batch.id, status, written, Math.floor(this.deps.now() / 1000))
      this.counts.ended[status]++
      this.untrack(batch.id)
    } finally {
      run.busy = false
    }
  }

  private untrack(id: string): void {
    this.running.delete(id)
  }
}

/** A line's request body, read again from its place in the input file (the line's `body` object, as written). */
async function readLineBody(path: string, line: PendingLine): Promise<Buffer> {
  const file = await open(path, 'r')
  try {
    const bytes = Buffer.alloc(line.length)
    await file.read(bytes, 0, line.length, line.offset)
    const body = lineBody(bytes)
    // Validation read the same bytes: only a file changed on disk since gets here (our side: the batch pauses).
    if (body instanceof GatewayError) throw body
    return body
  } finally {
    await file.close()
  }
}
