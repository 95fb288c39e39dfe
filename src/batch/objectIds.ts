// Ids of files and batches in OpenAI's form (`file-…`, `batch_…`): a prefix and 128 random bits, so an id cannot be
// guessed from another (ownership is checked anyway; this keeps lists and logs from hinting at other users' objects).
import { randomBytes } from 'node:crypto'

export function newObjectId(prefix: 'file-' | 'batch_'): string {
  return prefix + randomBytes(16).toString('hex')
}
