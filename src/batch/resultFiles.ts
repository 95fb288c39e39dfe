// A finished batch's output file (lines that succeeded) and error file (lines that failed), written to disk under
// temporary names, then named; their rows (the owner's files, purpose batch_output) are recorded by the caller with the
// batch's end, in one transaction. No file is made for an empty side, as OpenAI leaves output_file_id or error_file_id
// null then.
import type { WriteStream } from 'node:fs'
import type { BatchRow, FileRow, ResultFileRows } from './batchStore.js'
import type { FileStorage } from './fileStorage.js'
import { newObjectId } from './objectIds.js'

type Deps = { storage: FileStorage; now: () => number }

export async function writeResultFiles(
  deps: Deps,
  batch: BatchRow,
  outputs: Iterable<string>,
  errors: Iterable<string>,
): Promise<ResultFileRows> {
  return {
    output: await writeOne(deps, batch, `${batch.id}_output.jsonl`, outputs),
    error: await writeOne(deps, batch, `${batch.id}_error.jsonl`, errors),
  }
}

async function writeOne(
  deps: Deps,
  batch: BatchRow,
  filename: string,
  lines: Iterable<string>,
): Promise<FileRow | null> {
  const pending = deps.storage.create()
  let bytes = 0
  try {
    for (const line of lines) {
      const text = line + '\n'
      bytes += Buffer.byteLength(text)
      await written(pending.stream, text)
    }
  } catch (error) {
    await pending.discard()
    throw error
  }
  if (bytes === 0) {
    await pending.discard()
    return null
  }
  const id = newObjectId('file-')
  await pending.commit(id)
  return {
    id,
    userId: batch.userId,
    purpose: 'batch_output',
    filename,
    bytes,
    createdAt: Math.floor(deps.now() / 1000),
  }
}

/** Writes with the file's pace: waits for drain when its buffer is full. */
function written(stream: WriteStream, text: string): Promise<void> {
  if (stream.write(text)) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const drained = () => {
      stream.off('error', failed)
      resolve()
    }
    const failed = (error: Error) => {
      stream.off('drain', drained)
      reject(error)
    }
    stream.once('drain', drained)
    stream.once('error', failed)
  })
}
