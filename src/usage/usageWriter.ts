// The usage writer thread: its own SQLite connection writes the batches the recorder posts, so that no insert, page
// allocation or WAL checkpoint ever blocks the event loop that serves requests. A batch the database refuses for a
// reason of its own (busy, full, read-only) is handed back whole to be tried again; one refused for a row's sake is
// written row by row, and the rows that still fail are set aside (reported back) while the others are written.
import { parentPort, workerData } from 'node:worker_threads'
import { openDatabase } from '../store/database.js'
import { UsageStore } from '../store/usage.js'
import type { UsageRow } from './usageRow.js'

export interface WriterSetup {
  path: string
  busyTimeoutMs: number
}

export type WriterRequest = { id: number; rows: UsageRow[] }
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

if (parentPort && workerData) {
  const setup = workerData as WriterSetup
  const db = openDatabase(setup.path, { busyTimeoutMs: setup.busyTimeoutMs })
  const store = new UsageStore(db)
  const port = parentPort
  port.on('message', ({ id, rows }: WriterRequest) => port.postMessage(writeBatch(store, id, rows)))
  port.once('close', () => db.close())
}
