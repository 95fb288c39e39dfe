// The usage writer thread: its own SQLite connection writes the rows the recorder left in the shared ring (and the
// few it had to queue as messages), so that no insert, page allocation or WAL checkpoint ever blocks the event loop
// that serves requests. A batch the database refuses for a reason of its own (busy, full, read-only) is kept here and
// tried again with the next flush; one refused for a row's sake is written row by row, and the rows that still fail
// are set aside (reported back) while the others are written.
import { parentPort, workerData } from 'node:worker_threads'
import { openDatabase } from '../store/database.js'
import { UsageStore } from '../store/usage.js'
import type { UsageRow } from './usageRow.js'
import { RingReader, type RingMemory } from './usageRing.js'

export interface WriterSetup {
  path: string
  busyTimeoutMs: number
}

/** Rows kept for another try at most (the database busy for long): past this the oldest are lost, and counted. */
export const maxRetryRows = 200_000

/** A flush: the ring's rows up to `upto`, then `rows` (those that found the ring full), in that order. */
export type WriterRequest = { id: number; upto: number; rows?: UsageRow[] }
/** What the writer thread reports for a flush. */
export type FlushReply = {
  id: number
  written: number
  ms: number
  /** Rows kept to be tried again with the next flush (the database refused them for a reason of its own). */
  retrying: number
  /** Rows given up on: more waited for another try than maxRetryRows. */
  lost: number
  setAside?: { row: UsageRow; error: string }[]
  error?: string
}
export type WriterReply = {
  id: number
  written: number
  ms: number
  /** The database refused: these rows (indexes into the batch) are to be tried again. */
  retry?: number[]
  /** Rows that could not be written on their own, with why: never tried again. */
  setAside?: { index: number; error: string }[]
  /** Why the rows to retry were refused. */
  error?: string
}

/** SQLite's answers that are about the database, not the row: the same row may be written later. */
const databaseTrouble = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|NOMEM|PROTOCOL|INTERRUPT|NOLFS|AUTH)/

export function isDatabaseTrouble(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && databaseTrouble.test(code)
}

/** Writes a batch; never throws. */
export function writeBatch(store: UsageStore, id: number, rows: UsageRow[]): WriterReply {
  const started = performance.now()
  try {
    store.write(rows)
    return { id, written: rows.length, ms: performance.now() - started }
  } catch (error) {
    if (isDatabaseTrouble(error)) {
      return { id, written: 0, ms: performance.now() - started, retry: rows.map((_, i) => i), error: message(error) }
    }
  }
  // One row spoiled the batch: write each alone so that the others land.
  let written = 0
  const setAside: { index: number; error: string }[] = []
  for (let index = 0; index < rows.length; index++) {
    try {
      store.write([rows[index]!])
      written++
    } catch (error) {
      if (isDatabaseTrouble(error)) {
        const retry: number[] = []
        for (let rest = index; rest < rows.length; rest++) retry.push(rest)
        return { id, written, ms: performance.now() - started, retry, setAside, error: message(error) }
      }
      setAside.push({ index, error: message(error) })
    }
  }
  return { id, written, ms: performance.now() - started, setAside }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The thread's state: the ring's reading end and the rows waiting for another try. */
export class UsageWriter {
  private retry: UsageRow[] = []

  constructor(
    private readonly store: UsageStore,
    private readonly ring: RingReader,
  ) {}

  flush({ id, upto, rows }: WriterRequest): FlushReply {
    // Rows waiting for another try go first; the ring's slots are given back as soon as their rows are copied out.
    const batch = this.retry
    this.retry = []
    this.ring.take(upto, batch)
    if (rows) for (const row of rows) batch.push(row)
    const reply = writeBatch(this.store, id, batch)
    let lost = 0
    if (reply.retry) {
      for (const index of reply.retry) this.retry.push(batch[index]!)
      if (this.retry.length > maxRetryRows) {
        lost = this.retry.length - maxRetryRows
        this.retry.splice(0, lost)
      }
    }
    return {
      id,
      written: reply.written,
      ms: reply.ms,
      retrying: this.retry.length,
      lost,
      setAside: reply.setAside?.map(({ index, error }) => ({ row: batch[index]!, error })),
      error: reply.error,
    }
  }
}

if (parentPort && workerData) {
  const setup = workerData as WriterSetup & { ring: RingMemory }
  const db = openDatabase(setup.path, { busyTimeoutMs: setup.busyTimeoutMs })
  const writer = new UsageWriter(new UsageStore(db), new RingReader(setup.ring))
  const port = parentPort
  port.on('message', (request: WriterRequest) => port.postMessage(writer.flush(request)))
  port.once('close', () => db.close())
  port.postMessage('ready')
}
