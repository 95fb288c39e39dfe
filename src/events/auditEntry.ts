// What one audit row says (src/events/auditLog.ts keeps them, hash-chained): who did what to which object, from where,
// with what result. Rooms that make changes or sensitive reads hand entries to an AuditRecorder; they never write the
// table themselves, so the chain has one writer per process and one rule for what a row holds.

/** Where the action came from: the CLI on the box, the admin API with a key, the dashboard (a login session), SSO. */
export type AuditSource = 'cli' | 'api' | 'dashboard' | 'sso' | 'system'

export interface AuditActor {
  source: AuditSource
  /** The acting user's name (null: none known, e.g. a failed login's unknown name is the target, not the actor). */
  user: string | null
  /** The API key used (its id, never its secret). */
  keyId: string | null
  /** The client address (API, dashboard, SSO); the OS user and host name for the CLI. */
  clientIp: string | null
  osUser?: string | null
  host?: string | null
}

export type AuditResult = 'ok' | 'denied' | 'failed'

export interface AuditEntry {
  /** A dotted verb: login, login.sso, logout, user.create, key.revoke, limit.put, webhook.add, config.reload, usage.export, audit.read, ... */
  action: string
  actor: AuditActor
  /** The object acted on, as `kind:name` (user:alice, key:k_12ab, limit:user/alice, webhook:wh_1), or null. */
  target: string | null
  /** Non-secret fields before and after the change (never a hash, secret, password or token). */
  before?: Record<string, unknown> | null
  after?: Record<string, unknown> | null
  result: AuditResult
  /** The error code when the result is not ok (src/errors.ts). */
  error?: string | null
  requestId: string | null
}

export interface AuditRecorder {
  record(entry: AuditEntry): void
}

/** For compositions and tests that keep no audit log. */
export const notAudited: AuditRecorder = { record() {} }
