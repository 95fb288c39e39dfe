// /v1/batches (OpenAI's Batch API): create, retrieve, list, cancel. A batch belongs to its creator like its files
// (another user's answers 404); the runner (src/batch/batchRunner.ts) does the work, this only records and reports.
import { GatewayError } from '../errors.js'
import { batchObject, listObject } from '../batch/batchObjects.js'
import { newBatchRow, type BatchRow, type BatchStore } from '../batch/batchStore.js'
import { batchEndpoints } from '../batch/lineCheck.js'
import { newObjectId } from '../batch/objectIds.js'
import type { JsonHandler } from './jsonRoute.js'
import { listParams, ownerFilter, visibleFile } from './filesApi.js'
import { recordOutcome, refused } from '../admin/auditTrail.js'
import type { Principal } from '../auth/principal.js'

export interface BatchesContext {
  store: BatchStore
  /** Tells the runner a batch was made or cancelled. */
  wake: (id: string) => void
}

/** OpenAI's only window; the batch expires this long after it was made. */
const completionWindows: Record<string, number> = { '24h': 24 * 3600 }
const maxMetadataPairs = 16

export function batchesHandlers(context: BatchesContext): Record<string, JsonHandler> {
  const { store } = context
  const shown = (batch: BatchRow) => batchObject(batch, store.counts(batch.id))
  return {
    batches_create: ({ principal, body, request, trail }) => {
      const made = newBatch(store, principal!, body, Math.floor(request.time / 1000))
      if (made instanceof GatewayError) return refused(trail, 'batch.create', 'batch:new', made)
      store.addBatch(made)
      recordOutcome(trail, 'batch.create', `batch:${made.id}`, undefined, {
        input_file_id: made.inputFileId,
        endpoint: made.endpoint,
      })
      context.wake(made.id)
      return { status: 200, body: shown(made) }
    },
    batches_get: ({ principal, params }) => {
      const batch = visibleBatch(store, principal!, params[0]!)
      return batch instanceof GatewayError ? batch : { status: 200, body: shown(batch) }
    },
    batches_list: ({ principal, query }) => {
      const paging = listParams(query, 100, 20)
      if (paging instanceof GatewayError) return paging
      const page = store.listBatches(ownerFilter(principal!), paging.after, paging.limit)
      return { status: 200, body: listObject(page.rows.map(shown), page.hasMore) }
    },
    batches_cancel: ({ principal, params, request, trail }) => {
      const target = `batch:${params[0]!}`
      const batch = visibleBatch(store, principal!, params[0]!)
      if (batch instanceof GatewayError) return refused(trail, 'batch.cancel', target, batch)
      const now = Math.floor(request.time / 1000)
      if (
        batch.status !== 'cancelling' &&
        !store.setStatus(batch.id, ['validating', 'in_progress'], 'cancelling', now)
      ) {
        const status = store.batch(batch.id)!.status
        return refused(
          trail,
          'batch.cancel',
          target,
          new GatewayError('batch_not_cancellable', `batch ${batch.id} is ${status}`),
        )
      }
      recordOutcome(trail, 'batch.cancel', target, undefined, { status: batch.status })
      context.wake(batch.id)
      return { status: 200, body: shown(store.batch(batch.id)!) }
    },
  }
}

function visibleBatch(store: BatchStore, principal: Principal, id: string): BatchRow | GatewayError {
  const batch = store.batch(id)
  const owner = ownerFilter(principal)
  if (!batch || (owner !== undefined && batch.userId !== owner)) {
    return new GatewayError('batch_not_found', `no such batch: ${id}`)
  }
  return batch
}

/** The batch a create body asks for, or a 400 naming the first field that is wrong. */
function newBatch(
  store: BatchStore,
  principal: Principal,
  body: Record<string, unknown>,
  now: number,
): BatchRow | GatewayError {
  const { input_file_id: inputFileId, endpoint, completion_window: window, metadata } = body
  if (typeof inputFileId !== 'string' || inputFileId === '') {
    return new GatewayError('invalid_request', '"input_file_id" is required and must be a file id')
  }
  if (typeof endpoint !== 'string' || !(batchEndpoints as readonly string[]).includes(endpoint)) {
    return new GatewayError('invalid_request', `"endpoint" must be one of: ${batchEndpoints.join(', ')}`)
  }
  if (typeof window !== 'string' || completionWindows[window] === undefined) {
    return new GatewayError('invalid_request', '"completion_window" must be "24h"')
  }
  const checked = checkMetadata(metadata)
  if (checked instanceof GatewayError) return checked
  const file = visibleFile(store, principal, inputFileId)
  if (file instanceof GatewayError) return file
  if (file.purpose !== 'batch') {
    return new GatewayError('invalid_request', `file ${inputFileId} has purpose "${file.purpose}", not "batch"`)
  }
  return newBatchRow({
    id: newObjectId('batch_'),
    userId: principal.userId,
    keyId: principal.keyId,
    inputFileId,
    endpoint,
    completionWindow: window,
    metadata: checked,
    createdAt: now,
    expiresAt: now + completionWindows[window],
  })
}

/** OpenAI's metadata: at most 16 pairs, keys up to 64 characters, string values up to 512. */
function checkMetadata(metadata: unknown): string | null | GatewayError {
  if (metadata === undefined || metadata === null) return null
  const bad = new GatewayError(
    'invalid_request',
    `"metadata" must be an object of at most ${maxMetadataPairs} string values (keys up to 64 characters, values up to 512)`,
  )
  if (typeof metadata !== 'object' || Array.isArray(metadata)) return bad
  const pairs = Object.entries(metadata)
  if (pairs.length > maxMetadataPairs) return bad
  for (const [key, value] of pairs) {
    if (key.length > 64 || typeof value !== 'string' || value.length > 512) return bad
  }
  return JSON.stringify(metadata)
}
