// Issuing and rotating API keys: the one place a key's secret exists in full, returned once to the caller.
import { GatewayError } from '../errors.js'
import type { ApiKey, KeyStore } from '../store/apiKeys.js'
import { checkText, maxModelPatterns, modelPatternBounds } from '../store/bounds.js'
import { generateKey } from './apiKeyFormat.js'
import { rangeProblem } from '../limits/addressList.js'
import { checkModelPattern } from './modelAllowList.js'
import { generateSigningSecret } from './requestSignature.js'

export interface KeyRequest {
  userId: number
  name?: string | null
  description?: string | null
  /** Model allow-list; null or absent = every model. */
  models?: string[] | null
  expiresAt?: number | null
  /** The API key making this one (null: a login session or the CLI). */
  createdByKey?: string | null
  /** Requests with the key must be signed: a signing secret is made and shown once. */
  signed?: boolean
  /** Client address ranges the key may be used from; null or absent = every address. */
  allowIp?: string[] | null
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
  /** A signed key's signing secret: show it once (it is stored: the gateway needs it to verify, docs/signing.md). */
  signingSecret?: string
  record: ApiKey
}

export function issueKey(keys: KeyStore, request: KeyRequest, now = Date.now()): IssuedKey {
  checkKeyRequest(request, now)
  const made = generateKey()
  const { signed, ...fields } = request
  const signingSecret = signed ? generateSigningSecret() : undefined
  const record = keys.create({
    ...fields,
    id: made.id,
    hash: made.hash,
    prefix: made.prefix,
    signingSecret: signingSecret === undefined ? null : Buffer.from(signingSecret),
  })
  return signingSecret === undefined ? { key: made.key, record } : { key: made.key, signingSecret, record }
}

/** A successor for key `id`; the old key keeps working for `graceMs` (0: it stops now). */
export function rotateKey(keys: KeyStore, id: string, graceMs: number, now = Date.now()): IssuedKey {
  const made = generateKey()
  // A signed key's successor is signed too, with a secret of its own (the old one stays with the old key).
  const signingSecret = keys.find(id)?.signed ? generateSigningSecret() : undefined
  const successor = {
    id: made.id,
    hash: made.hash,
    prefix: made.prefix,
    signingSecret: signingSecret === undefined ? null : Buffer.from(signingSecret),
  }
  const record = keys.rotate(id, successor, now + graceMs)
  return signingSecret === undefined ? { key: made.key, record } : { key: made.key, signingSecret, record }
}

/** An address allow-list within its bounds (count, CIDR syntax), or a 400 naming what is wrong. */
export function checkKeyAllowIp(allowIp: string[] | null): void {
  const problem = allowIp === null ? undefined : rangeProblem(allowIp)
  if (problem) throw new KeyRequestError(`"allow_ip": ${problem}`)
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
  checkKeyAllowIp(request.allowIp ?? null)
  if (request.expiresAt != null && request.expiresAt <= now) {
    throw new KeyRequestError('the expiry must be in the future')
  }
}
