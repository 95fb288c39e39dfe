// How an API key is shown, by the CLI and the self-service API alike: never its secret or hash. Times are shown
// whatever a row holds (a date out of a Date's range, written before bounds existed, is clamped, not a crash).
import type { ApiKey } from '../store/apiKeys.js'
import type { IssuedKey } from './keyIssuer.js'
import { isoTime as time } from '../store/bounds.js'

export function keyState(key: ApiKey, now = Date.now()): string {
  if (key.revokedAt !== null) return 'revoked'
  if (key.validUntil !== null) return key.validUntil > now ? 'rotated (in grace)' : 'rotated'
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired'
  return 'active'
}

export function keyView(key: ApiKey, now = Date.now()) {
  return {
    id: key.id,
    user: key.username,
    prefix: key.prefix,
    name: key.name,
    description: key.description,
    models: key.models,
    state: keyState(key, now),
    created: time(key.createdAt),
    expires: time(key.expiresAt),
    last_used: time(key.lastUsedAt),
    replaced_by: key.replacedBy,
    valid_until: time(key.validUntil),
    created_by_key: key.createdByKey,
    signed: key.signed,
    allow_ip: key.allowIp,
  }
}

/** A new key as answered once: its view, the key, and a signed key's signing secret. */
export function issuedView(issued: IssuedKey) {
  const view = { ...keyView(issued.record), key: issued.key }
  return issued.signingSecret === undefined ? view : { ...view, signing_secret: issued.signingSecret }
}
