// The usage writer thread: its own SQLite connection writes the batches the recorder posts, so that no insert, page
// allocation or WAL checkpoint ever blocks the event loop that serves requests.
import { parentPort, workerData } from 'node:worker_threads'
import { openDatabase } from '../store/database.js'
import { UsageStore } from '../store/usage.js'
import type { UsageRow } from './usageRow.js'

export interface WriterSetup {
  path: string
  busyTimeoutMs: number
}

export type WriterRequest = { id: number; rows: UsageRow[] }
export type WriterReply = { id: number; written: number; ms: number; error?: string }

const setup = workerData as WriterSetup
const db = openDatabase(setup.path, { busyTimeoutMs: setup.busyTimeoutMs })
const store = new UsageStore(db)

parentPort!.on('message', ({ id, rows }: WriterRequest) => {
  const started = performance.now()
  let reply: WriterReply
  try {
    store.write(rows)
    reply = { id, written: rows.length, ms: performance.now() - started }
  } catch (error) {
    reply = { id, written: 0, ms: performance.now() - started, error: (error as Error).message }
  }
  parentPort!.postMessage(reply)
})

parentPort!.once('close', () => db.close())
