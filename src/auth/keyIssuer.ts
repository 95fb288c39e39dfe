// Issuing and rotating API keys: the one place a key's secret exists in full, returned once to the caller.
import { GatewayError } from '../errors.js'
import type { ApiKey, KeyStore } from '../store/apiKeys.js'
import { checkText, maxModelPatterns, modelPatternBounds } from '../store/bounds.js'
import { generateKey } from './apiKeyFormat.js'
import { checkModelPattern } from './modelAllowList.js'

export interface KeyRequest {
  userId: number
  name?: string | null
  description?: string | null
  /** Model allow-list; null or absent = every model. */
  models?: string[] | null
  expiresAt?: number | null
  /** The API key making this one (null: a login session or the CLI). */
  createdByKey?: string | null
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

/** A model allow-list within its bounds (count, length) and of valid patterns, or a 400 naming what is wrong. */
export function checkKeyModels(models: string[] | null): void {
  if (models === null) return
  if (models.length > maxModelPatterns) {
    throw new KeyRequestError(`"models" has ${models.length} entries, at most ${maxModelPatterns}`)
  }
  for (const pattern of models) {
    checkText('models[]', pattern, modelPatternBounds)
    const problem = checkModelPattern(pattern)
    if (problem) throw new KeyRequestError(problem)
  }
}

/** Lengths, characters and the latest expiry are the store's bounds (src/store/bounds.ts); the shape of models here. */
function checkKeyRequest(request: KeyRequest, now: number): void {
  checkKeyModels(request.models ?? null)
  if (request.expiresAt != null && request.expiresAt <= now) {
    throw new KeyRequestError('the expiry must be in the future')
  }
}
