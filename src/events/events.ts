// What happens in the gateway, as typed events: each has an id, a type, a time and a payload that never holds a
// secret (no key material, no password, no token) — ids, names and numbers only. Webhooks subscribe by type pattern.

/** Who a key or user event is about. */
export interface UserRef {
  user_id: number
  username: string | null
}

export interface KeyRef extends UserRef {
  key_id: string
  key_name: string | null
}

export interface EventPayloads {
  'key.created': KeyRef
  'key.revoked': KeyRef & { with_key: string | null }
  'key.rotated': KeyRef & { successor: string | null }
  'key.expired': KeyRef & { expired_at: string }
  'user.created': UserRef & { role: string | null }
  'user.disabled': UserRef
  'user.enabled': UserRef
  'user.deleted': UserRef
  'user.role_changed': UserRef & { role: string | null }
  /** Which of the user's fields changed: weight, password, email, display_name (never their values). */
  'user.changed': UserRef & { fields: string[] }
  'limit.changed': {
    action: 'set' | 'removed' | 'copied'
    subject_type: string
    subject: string
    gateway: string | null
    model: string | null
    values: Record<string, number | null> | null
  }
  'quota.threshold': {
    threshold: number
    quota: string
    limit: number
    used: number
    period_start: string
    period_end: string
    subject: { type: 'key' | 'user'; id: string; username: string }
    gateway: string
    model: string | null
  }
  'backend.down': { backend: string; url: string; error: string }
  'backend.up': { backend: string; url: string }
  /** An admin drained a backend (no new requests) or put it back in service; `by`: who. */
  'backend.drained': { backend: string; url: string; by: string }
  'backend.undrained': { backend: string; url: string; by: string }
  /** A model changed on a backend through the admin API (a pull that ended in success, a delete, a copy). */
  'model.pulled': { model: string; backend: string; by: string }
  'model.deleted': { model: string; backend: string; by: string }
  'model.copied': { source: string; destination: string; backend: string; by: string }
  'login.failed': { username: string; client_ip: string; reason: 'invalid_credentials' | 'user_disabled' }
  'login.throttled': { username: string; client_ip: string; retry_after_s: number }
  'request.failed': {
    request_id: string
    status: number
    error: string
    api: string
    route: string
    model: string | null
    backend: string | null
    user_id: number | null
    key_id: string | null
    /** Failures of the same kind (error and backend) since the previous such event, not sent on their own. */
    suppressed: number
  }
  /** Sent by `parallama webhook test` to one webhook. */
  'webhook.test': { webhook_id: string }
}

export type EventType = keyof EventPayloads

/** Every type a webhook may subscribe to (webhook.test goes to the webhook it tests, whatever it subscribed to). */
export const eventTypes: readonly EventType[] = [
  'key.created',
  'key.revoked',
  'key.rotated',
  'key.expired',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.role_changed',
  'user.changed',
  'limit.changed',
  'quota.threshold',
  'backend.down',
  'backend.up',
  'backend.drained',
  'backend.undrained',
  'model.pulled',
  'model.deleted',
  'model.copied',
  'login.failed',
  'login.throttled',
  'request.failed',
]

export interface GatewayEvent<T extends EventType = EventType> {
  id: string
  type: T
  /** ms since epoch. */
  time: number
  data: EventPayloads[T]
}

/** The JSON a webhook receives (the Standard Webhooks convention: type, timestamp, data; plus the event id). */
export function eventBody(event: GatewayEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: new Date(event.time).toISOString(),
    data: event.data,
  })
}

/**
 * Subscription patterns: comma-separated, each an exact type, `group.*` (every type of a group) or `*`. Returns the
 * patterns, or a message naming the one that is not.
 */
export function parsePatterns(text: string): string[] | string {
  const patterns = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  if (patterns.length === 0) return 'name at least one event type or pattern, such as key.*,backend.down'
  for (const pattern of patterns) {
    const known =
      pattern === '*' ||
      (pattern.endsWith('.*') && eventTypes.some((type) => type.startsWith(pattern.slice(0, -1)))) ||
      eventTypes.includes(pattern as EventType)
    if (!known) return `"${pattern}" is no event type or pattern (types: ${eventTypes.join(', ')})`
  }
  return patterns
}

export function matches(patterns: string, type: string): boolean {
  for (const raw of patterns.split(',')) {
    const pattern = raw.trim()
    if (pattern === '*' || pattern === type) return true
    if (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1))) return true
  }
  return false
}
