// Where the Batch API's files live on disk: one file per id in one folder (batch.files_dir, or `files` beside the
// database), the folder 0700 and each file 0600 like the database file, since they hold prompts and answers. A file is
// written under a temporary name and renamed to its id only once complete, so a half upload (a client gone, a size
// cap, a crash) never becomes a file anyone can read; temporaries left by a crash are removed at start.
import { createWriteStream, mkdirSync, readdirSync, rmSync, statSync, type WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'

const temporary = /^\.tmp-/

export class FileStorage {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    for (const name of readdirSync(dir)) if (temporary.test(name)) rmSync(join(dir, name), { force: true })
  }

  /** The folder for a database file and the configured folder ('' = `files` beside the database). */
  static folderFor(databasePath: string, configured: string): string {
    return configured !== '' ? configured : join(dirname(databasePath), 'files')
  }

  pathOf(id: string): string {
    return join(this.dir, id)
  }

  /** A new file being written: `commit` makes it the file `id`, `discard` removes it. */
  create(): PendingFile {
    const path = join(this.dir, `.tmp-${randomBytes(12).toString('hex')}`)
    const stream = createWriteStream(path, { mode: 0o600, flags: 'wx' })
    return {
      stream,
      commit: async (id) => {
        await closed(stream)
        await rename(path, this.pathOf(id))
      },
      discard: async () => {
        stream.destroy()
        await rm(path, { force: true })
      },
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true })
  }

  /**
   * Removes the files no row names any more: their owner was deleted (the rows go with the user, maybe from the CLI
   * while the server runs), or an unlink failed after the row was deleted. Only files older than `minAgeMs`: an
   * upload renames its file before its row is written. Returns how many were removed.
   */
  sweep(isKnown: (id: string) => boolean, now: number, minAgeMs: number): number {
    let removed = 0
    for (const name of readdirSync(this.dir)) {
      if (temporary.test(name) || isKnown(name)) continue
      const path = join(this.dir, name)
      const stats = statSync(path, { throwIfNoEntry: false })
      if (!stats?.isFile() || now - stats.mtimeMs < minAgeMs) continue
      rmSync(path, { force: true })
      removed++
    }
    return removed
  }
}

export interface PendingFile {
  stream: WriteStream
  commit(id: string): Promise<void>
  discard(): Promise<void>
}

/** Ends the stream and waits until its bytes are on disk (or its error). */
function closed(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.closed) return resolve()
    stream.once('error', reject)
    stream.once('close', resolve)
    stream.end()
  })
}
