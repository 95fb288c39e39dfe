// Who is acting, handed to every service call that changes something or reads something sensitive, with the recorder
// its audit rows go to: the CLI builds one per command (OS user, host), the admin API per request (user, key, address,
// request id). Passed as an argument, never kept in shared state, so an identity cannot leak from one call to another.
import type { AuditActor, AuditEntry, AuditRecorder } from '../events/auditEntry.js'
import type { Store } from '../store/store.js'
import { storeCall } from './storeErrors.js'

export interface AuditTrail {
  recorder: AuditRecorder
  actor: AuditActor
  requestId: string | null
}

export interface Change<T> {
  value: T
  /** The target when only the change knows it (a new key's id). */
  target?: string | null
  before?: Record<string, unknown> | null
  after?: Record<string, unknown> | null
}

/**
 * Runs `change` in one IMMEDIATE transaction with its audit row, so the change and its record commit together (or
 * neither does). A refused or failed change is recorded as failed, with its error code, after the rollback.
 */
export function auditedChange<T>(
  store: Store,
  trail: AuditTrail,
  action: string,
  target: string | null,
  change: () => Change<T>,
): T {
  try {
    return storeCall(() =>
      store.db
        .transaction(() => {
          const done = change()
          trail.recorder.record({
            action,
            actor: trail.actor,
            target: done.target === undefined ? target : done.target,
            before: done.before ?? null,
            after: done.after ?? null,
            result: 'ok',
            requestId: trail.requestId,
          })
          return done.value
        })
        .immediate(),
    )
  } catch (error) {
    recordFailure(trail, action, target, error)
    throw error
  }
}

/** An action that went well and changed nothing here (a sensitive read, a login), recorded before it is answered. */
export function recordOk(trail: AuditTrail, action: string, target: string | null, query?: Record<string, unknown>) {
  trail.recorder.record({
    action,
    actor: trail.actor,
    target,
    before: null,
    after: query ?? null,
    result: 'ok',
    requestId: trail.requestId,
  })
}

/** A refused or failed action; an audit write that fails here is dropped (the caller must see the first error). */
export function recordFailure(trail: AuditTrail, action: string, target: string | null, error: unknown): void {
  const entry: AuditEntry = {
    action,
    actor: trail.actor,
    target,
    result: errorCode(error) === 'permission_denied' ? 'denied' : 'failed',
    error: errorCode(error),
    requestId: trail.requestId,
  }
  try {
    trail.recorder.record(entry)
  } catch {
    // The database refused the row too (locked, read-only): the original error is what matters to the caller.
  }
}

/** The stable code of an error (src/errors.ts, a store's), else internal_error. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? code : 'internal_error'
}

/**
 * What was done outside the database (a backend drained, a model pulled on a backend): recorded after the fact, ok or
 * failed with its code. An audit write that fails here is dropped: the action cannot be undone, and its caller's
 * answer must not turn into an error because of it.
 */
export function recordOutcome(
  trail: AuditTrail,
  action: string,
  target: string | null,
  error: unknown,
  fields?: Record<string, unknown>,
): void {
  if (error !== undefined && error !== null) return recordFailure(trail, action, target, error)
  try {
    recordOk(trail, action, target, fields)
  } catch {
    // The database refused the row (locked past the busy timeout): see above.
  }
}

/** Records a refused change in the audit log and returns the refusal, for a handler to answer with. */
export function refused<E>(trail: AuditTrail, action: string, target: string, error: E): E {
  recordFailure(trail, action, target, error)
  return error
}
