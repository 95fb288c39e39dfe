// Files and batches as OpenAI's API shows them (the `openai` client's FileObject and Batch types): the field names,
// `object` tags, timestamps in seconds, and null for the times not reached yet.
import type { BatchRow, FileRow, LineCounts } from './batchStore.js'

export function fileObject(file: FileRow) {
  return {
    id: file.id,
    object: 'file' as const,
    bytes: file.bytes,
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    // Kept as uploaded: OpenAI's `processed` is its own checking, which a batch does when it starts.
    status: 'processed' as const,
    expires_at: null,
    status_details: null,
  }
}

export function batchObject(batch: BatchRow, counts: LineCounts) {
  return {
    id: batch.id,
    object: 'batch' as const,
    endpoint: batch.endpoint,
    errors: batch.errors === null ? null : { object: 'list', data: JSON.parse(batch.errors) as unknown[] },
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId,
    error_file_id: batch.errorFileId,
    created_at: batch.createdAt,
    in_progress_at: batch.inProgressAt,
    expires_at: batch.expiresAt,
    finalizing_at: batch.finalizingAt,
    completed_at: batch.completedAt,
    failed_at: batch.failedAt,
    expired_at: batch.expiredAt,
    cancelling_at: batch.cancellingAt,
    cancelled_at: batch.cancelledAt,
    request_counts: counts,
    metadata: batch.metadata === null ? null : (JSON.parse(batch.metadata) as Record<string, string>),
  }
}

/** OpenAI's list envelope, newest first (`after` the last id shown pages on). */
export function listObject<T extends { id: string }>(data: T[], hasMore: boolean) {
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
    has_more: hasMore,
  }
}
