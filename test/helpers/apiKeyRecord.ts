// An API key's stored record for tests of the pure parts that take one (key scope, the compliance report): a live key
// of user 1 ("ann") with no limits of its own; `fields` sets what the test is about.
import type { ApiKey } from '../../src/store/apiKeys.js'

export function apiKeyRecord(fields: Partial<ApiKey> = {}): ApiKey {
  return {
    id: 'makermakerma',
    userId: 1,
    username: 'ann',
    prefix: 'plm_…',
    name: null,
    description: null,
    models: null,
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    replacedBy: null,
    validUntil: null,
    createdByKey: null,
    signed: false,
    allowIp: null,
    ...fields,
  }
}
