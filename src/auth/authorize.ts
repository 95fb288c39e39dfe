// Stage 4, authorize: the model allow-list, on every model the request names as Ollama will use it. (The route's
// permission, authorize's first half, is checked with the credential: see authenticateStage.ts.)
import { GatewayError } from '../errors.js'
import { anyModel } from './modelAllowList.js'
import type { Principal } from './principal.js'

/** What the read-fields stage found that authorize checks. */
export interface NamedModels {
  /** The models the request names, aliases resolved; models[0] is the one that runs. */
  models: readonly string[]
  /** The alias the client named for models[0], when it used one. */
  alias?: string
  /** A field naming blobs or a host, which no allow-list can check. */
  unchecked?: string
}

export type AuthorizeStage = (principal: Principal | undefined, fields: NamedModels) => GatewayError | undefined

/**
 * The allow-list applies to every model the request names, as Ollama will use it: the one that runs (an alias
 * resolved) and those it uses besides (copy's source and destination, create's `from` and Modelfile FROMs). A refused
 * alias is named as the client sent it.
 */
export const authorizeModels: AuthorizeStage = (principal, fields) => {
  if (!principal) return undefined
  for (const [index, model] of fields.models.entries()) {
    if (principal.allowsModel(model)) continue
    const named = fields.alias !== undefined && index === 0 ? `${fields.alias}" (${model})` : `${model}"`
    return new GatewayError('model_not_allowed', `this credential may not use model "${named}`)
  }
  if (fields.unchecked !== undefined && principal.allowsModel !== anyModel) {
    return new GatewayError(
      'model_not_allowed',
      `"${fields.unchecked}" names blobs or a host, not models: only a credential allowed every model may use it`,
    )
  }
  return undefined
}
