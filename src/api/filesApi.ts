// /v1/files (OpenAI's Files API, the part batches use): upload, list, retrieve, content, delete. A file belongs to the
// user who uploaded it: another user's file answers 404 like one that does not exist (its existence is not leaked);
// admins see every file.
import { createReadStream } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { recordOutcome, refused } from '../admin/auditTrail.js'
import { GatewayError } from '../errors.js'
import type { Principal } from '../auth/principal.js'
import { fileObject, listObject } from '../batch/batchObjects.js'
import type { BatchStore, FileRow } from '../batch/batchStore.js'
import type { FileStorage } from '../batch/fileStorage.js'
import { newObjectId } from '../batch/objectIds.js'
import { receiveUpload } from '../batch/upload.js'
import type { JsonCall, JsonHandler, JsonReply } from './jsonRoute.js'
import type { StreamReply } from './streamReply.js'

export interface FilesContext {
  store: BatchStore
  storage: FileStorage
  maxFileBytes: () => number
  /** Whether a batch still running reads this file (it cannot be deleted until the batch ends). */
  inUse: (fileId: string) => boolean
}

/** Room for the multipart framing around the file itself in a declared Content-Length. */
const formOverhead = 64 * 1024

/** Whose rows a caller sees: admins everyone's (undefined), others their own. */
export function ownerFilter(principal: Principal): number | undefined {
  return principal.role === 'admin' ? undefined : principal.userId
}

/** The file `id` as the caller may see it, or the same 404 whether it is missing or someone else's. */
export function visibleFile(store: BatchStore, principal: Principal, id: string): FileRow | GatewayError {
  const file = store.file(id)
  const owner = ownerFilter(principal)
  if (!file || (owner !== undefined && file.userId !== owner)) {
    return new GatewayError('file_not_found', `no such file: ${id}`)
  }
  return file
}

/** `limit` and `after` of an OpenAI list, or a 400 naming the bad one. */
export function listParams(
  query: string,
  maxLimit: number,
  defaultLimit: number,
): { limit: number; after: string | undefined; params: URLSearchParams } | GatewayError {
  const params = new URLSearchParams(query)
  const text = params.get('limit')
  const limit = text === null ? defaultLimit : Number(text)
  if (text !== null && (!/^\d+$/.test(text) || limit < 1 || limit > maxLimit)) {
    return new GatewayError('invalid_request', `"limit" must be a whole number from 1 to ${maxLimit}`)
  }
  const after = params.get('after')
  return { limit, after: after === null || after === '' ? undefined : after, params }
}

export function filesHandlers(context: FilesContext): Record<string, JsonHandler> {
  const { store, storage } = context
  return {
    files_create: async (call) => {
      const made = await createFile(context, call)
      if (made instanceof GatewayError) return refused(call.trail, 'file.upload', 'file:new', made)
      recordOutcome(call.trail, 'file.upload', `file:${made.id}`, undefined, {
        filename: made.filename,
        purpose: made.purpose,
        bytes: made.bytes,
      })
      return { status: 200, body: fileObject(made) }
    },
    files_list: ({ principal, query }) => {
      const paging = listParams(query, 10_000, 10_000)
      if (paging instanceof GatewayError) return paging
      const purpose = paging.params.get('purpose') ?? undefined
      const page = store.listFiles(ownerFilter(principal!), paging.after, paging.limit, purpose)
      return { status: 200, body: listObject(page.rows.map(fileObject), page.hasMore) }
    },
    files_get: ({ principal, params }) => {
      const file = visibleFile(store, principal!, params[0]!)
      return file instanceof GatewayError ? file : { status: 200, body: fileObject(file) }
    },
    files_delete: async ({ principal, params, trail }): Promise<JsonReply> => {
      const target = `file:${params[0]!}`
      const file = visibleFile(store, principal!, params[0]!)
      if (file instanceof GatewayError) return refused(trail, 'file.delete', target, file)
      if (context.inUse(file.id)) {
        const inUse = new GatewayError('file_in_use', `file ${file.id} is the input of a batch still running`)
        return refused(trail, 'file.delete', target, inUse)
      }
      // The row first: once it is gone nobody can read the file, whether or not the unlink then succeeds (a file left
      // behind is removed by the next sweep, fileStorage.ts).
      store.deleteFile(file.id)
      recordOutcome(trail, 'file.delete', target, undefined, { filename: file.filename, bytes: file.bytes })
      await storage.remove(file.id)
      return { status: 200, body: { id: file.id, object: 'file', deleted: true } }
    },
    files_content: ({ principal, params }) => {
      const file = visibleFile(store, principal!, params[0]!)
      return file instanceof GatewayError ? file : fileContent(storage.pathOf(file.id))
    },
  }
}

async function createFile(context: FilesContext, call: JsonCall): Promise<FileRow | GatewayError> {
  const max = context.maxFileBytes()
  if (call.request.contentLength > max + formOverhead) {
    call.upload?.resume()
    return new GatewayError('file_too_large', `the upload is larger than ${max} bytes (batch.max_file_bytes)`)
  }
  if (!call.upload) return new GatewayError('invalid_request', 'a file is uploaded as multipart/form-data')
  const received = await receiveUpload(call.upload, call.header('content-type'), max, context.storage)
  if (received instanceof GatewayError) return received
  const file: FileRow = {
    id: newObjectId('file-'),
    userId: call.principal!.userId,
    purpose: received.purpose,
    filename: received.filename,
    bytes: received.bytes,
    createdAt: Math.floor(call.request.time / 1000),
  }
  await received.pending.commit(file.id)
  try {
    context.store.addFile(file)
  } catch (error) {
    await context.storage.remove(file.id)
    throw error
  }
  return file
}

/** A file's bytes, streamed from disk at the client's pace. */
function fileContent(path: string): StreamReply {
  return {
    status: 200,
    contentType: 'application/octet-stream',
    produce: (out) => {
      const stream = createReadStream(path)
      // A multi-byte character split between two reads is joined before it is written (the writer takes text).
      const decoder = new StringDecoder('utf8')
      stream.on('data', (chunk) => {
        if (!out.write(decoder.write(chunk))) {
          stream.pause()
          out.onDrain(() => stream.resume())
        }
      })
      stream.on('end', () => {
        out.write(decoder.end())
        out.end()
      })
      // The head went out already: a read failure can only cut the answer short.
      stream.on('error', () => out.end())
      return () => stream.destroy()
    },
  }
}
