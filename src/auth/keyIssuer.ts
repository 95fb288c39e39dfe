// Issuing and rotating API keys: the one place a key's secret exists in full, returned once to the caller.
import { GatewayError } from '../errors.js'
import type { ApiKey, KeyStore } from '../store/apiKeys.js'
import { generateKey } from './apiKeyFormat.js'
import { checkModelPattern } from './modelAllowList.js'

export interface KeyRequest {
  userId: number
  name?: string | null
  description?: string | null
  /** Model allow-list; null or absent = every model. */
  models?: string[] | null
  expiresAt?: number | null
}

/** A bad key request: a 400 invalid_request over HTTP, exit 1 with its message in the CLI. */
export class KeyRequestError extends GatewayError {
  constructor(message: string) {
    super('invalid_request', message)
  }
}

export interface IssuedKey {
  /** The whole key: show it once, store it nowhere. */
  key: string
  record: ApiKey
}

export function issueKey(keys: KeyStore, request: KeyRequest, now = Date.now()): IssuedKey {
  checkKeyRequest(request, now)
  const made = generateKey()
  const record = keys.create({ ...request, id: made.id, hash: made.hash, prefix: made.prefix })
  return { key: made.key, record }
}

/** A successor for key `id`; the old key keeps working for `graceMs` (0: it stops now). */
export function rotateKey(keys: KeyStore, id: string, graceMs: number, now = Date.now()): IssuedKey {
  const made = generateKey()
  const record = keys.rotate(id, { id: made.id, hash: made.hash, prefix: made.prefix }, now + graceMs)
  return { key: made.key, record }
}

function checkKeyRequest(request: KeyRequest, now: number): void {
  if (request.name && request.name.length > 100) throw new KeyRequestError('a key name is at most 100 characters')
  if (request.description && request.description.length > 1000) {
    throw new KeyRequestError('a key description is at most 1000 characters')
  }
  for (const pattern of request.models ?? []) {
    const problem = checkModelPattern(pattern)
    if (problem) throw new KeyRequestError(problem)
  }
  if (request.expiresAt != null && request.expiresAt <= now) {
    throw new KeyRequestError('the expiry must be in the future')
  }
}
