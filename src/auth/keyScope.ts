// What a key made by a credential may be (issue 11, #4): never broader than the credential that makes it. A login
// session stands for its user and may make any key of that user; an API key may make only keys whose models are
// among its own and that stop no later than it does (its expiry, or the end of its rotation grace). What a request
// leaves out is inherited from the key that makes it; what it asks beyond that key is refused, never silently cut.
// The role is the owner's, the same for every key of a user, so no key is above its maker there either.
import { GatewayError } from '../errors.js'
import type { ApiKey } from '../store/apiKeys.js'
import { compileAllowList, normalizeModel } from './modelAllowList.js'

export interface KeyScopeRequest {
  /** undefined: not given (inherit); null: every model. */
  models: string[] | null | undefined
  /** undefined: not given (inherit); null: never. */
  expiresAt: number | null | undefined
  /** Client address ranges; undefined: not given (inherit); null: every address. */
  allowIp?: string[] | null
  /** Whether requests must be signed; undefined: not given (inherit). */
  signed?: boolean
}

export interface KeyScope {
  models: string[] | null
  expiresAt: number | null
  allowIp: string[] | null
  signed: boolean
}

/** When a key stops working, whichever comes first (Infinity: never). */
export function keyEnd(key: Pick<ApiKey, 'expiresAt' | 'validUntil'>): number {
  return Math.min(key.expiresAt ?? Infinity, key.validUntil ?? Infinity)
}

/**
 * The scope of a key that `maker` asks for: `maker` is the API key making it, or null for a login session. A request
 * broader than the maker is a 403 `key_broader_than_credential` naming what is too broad.
 */
export function scopeForNewKey(maker: ApiKey | null, request: KeyScopeRequest): KeyScope | GatewayError {
  if (maker === null) {
    return {
      models: request.models ?? null,
      expiresAt: request.expiresAt ?? null,
      allowIp: request.allowIp ?? null,
      signed: request.signed ?? false,
    }
  }
  const policy = policyFor(maker, request)
  if (policy instanceof GatewayError) return policy
  const end = keyEnd(maker)
  const makerEnd = Number.isFinite(end) ? end : null
  let models = maker.models
  if (request.models !== undefined) {
    const outside = modelsOutside(maker.models, request.models)
    if (outside.length > 0) {
      const which = outside === everyModel ? 'every model' : outside.map((model) => JSON.stringify(model)).join(', ')
      return new GatewayError(
        'key_broader_than_credential',
        `this API key may only make keys for its own models (${describeModels(maker.models)}); asked for ${which}`,
      )
    }
    models = request.models
  }
  let expiresAt = makerEnd
  if (request.expiresAt !== undefined) {
    if (makerEnd !== null && (request.expiresAt === null || request.expiresAt > makerEnd)) {
      return new GatewayError(
        'key_broader_than_credential',
        `this API key stops at ${new Date(makerEnd).toISOString()}: a key it makes cannot outlive it`,
      )
    }
    expiresAt = request.expiresAt
  }
  return { models, expiresAt, ...policy }
}

/**
 * A key made by a key is used from no more addresses than its maker (it gets the maker's allow_ip; a list of its own
 * only when the maker has none), and is signed when its maker is (with a secret of its own).
 */
function policyFor(maker: ApiKey, request: KeyScopeRequest): Pick<KeyScope, 'allowIp' | 'signed'> | GatewayError {
  if (maker.signed && request.signed === false) {
    return new GatewayError(
      'key_broader_than_credential',
      'this API key requires signed requests: so do the keys it makes',
    )
  }
  const signed = maker.signed || (request.signed ?? false)
  if (maker.allowIp === null) return { allowIp: request.allowIp ?? null, signed }
  if (request.allowIp !== undefined && !sameRanges(request.allowIp, maker.allowIp)) {
    return new GatewayError(
      'key_broader_than_credential',
      `this API key may be used only from ${maker.allowIp.join(', ') || 'nowhere'}: the keys it makes get that allow_ip`,
    )
  }
  return { allowIp: maker.allowIp, signed }
}

function sameRanges(a: string[] | null, b: string[]): boolean {
  return a !== null && a.length === b.length && a.every((range, index) => range === b[index])
}

const everyModel: string[] = ['*']

/** The requested patterns that `allowed` does not cover (`everyModel` when all models are asked of a narrower list). */
export function modelsOutside(allowed: string[] | null, requested: string[] | null): string[] {
  if (allowed === null) return []
  if (requested === null) return everyModel
  const allows = compileAllowList(allowed)
  const families = new Set(allowed.filter(isFamily).map(familyOf))
  return requested.filter((pattern) => (isFamily(pattern) ? !families.has(familyOf(pattern)) : !allows(pattern)))
}

function isFamily(pattern: string): boolean {
  return pattern.trim().endsWith(':*')
}

/** `Llama3.2:*` -> `llama3.2`, the way the allow-list reads a family. */
function familyOf(pattern: string): string {
  return normalizeModel(pattern.trim().slice(0, -2) + ':x').slice(0, -2)
}

function describeModels(models: string[] | null): string {
  if (models === null) return 'every model'
  if (models.length === 0) return 'none'
  const shown = models.slice(0, 5).join(', ')
  return models.length > 5 ? `${shown}, … ${models.length} in all` : shown
}
