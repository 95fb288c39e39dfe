// The native model lists (/api/tags: installed, /api/ps: loaded) as a caller may see them: only the models its
// credential may use, and the aliases of those — what /v1/models shows on the OpenAI side. The reply is small and
// rare, so it is held whole (JsonTap) and filtered once it is complete.
import { anyModel, normalizeModel } from '../auth/modelAllowList.js'
import type { Principal } from '../auth/principal.js'
import type { ModelAliases } from '../models/aliases.js'
import { JsonTap, type JsonRewrite } from './jsonTap.js'
import type { TapFactory } from './responseTap.js'

interface ModelEntry {
  name?: unknown
  model?: unknown
}

/**
 * The tap for a model list: a successful reply is filtered (whatever content type it claims); errors pass as they are.
 * A list too large to filter fails closed: no model rather than every model. A caller allowed every model, with no
 * alias to add, gets the backend's list untouched (no tap: holding and re-serialising it doubled the route's cost).
 */
export function nativeModelListTap(principal: Principal | undefined, aliases: ModelAliases): TapFactory | undefined {
  if ((!principal || principal.allowsModel === anyModel) && aliases.entries.length === 0) return undefined
  return (status) =>
    status === 200 ? new JsonTap(nativeModelList(principal, aliases), { tooLarge: () => ({ models: [] }) }) : undefined
}

/** Keeps the entries whose every name (`name`, and `model` when it has one) the caller may use; adds their aliases. */
export function nativeModelList(principal: Principal | undefined, aliases: ModelAliases): JsonRewrite {
  return (reply) => {
    if (!reply || typeof reply !== 'object' || !Array.isArray(reply.models)) return reply
    const allows = (name: unknown) => typeof name === 'string' && (!principal || principal.allowsModel(name))
    const allowed = (reply.models as ModelEntry[]).filter(
      (entry) =>
        entry !== null &&
        typeof entry === 'object' &&
        allows(entry.name) &&
        (entry.model === undefined || allows(entry.model)),
    )
    const byModel = new Map(allowed.map((entry) => [normalizeModel(entry.name as string), entry]))
    for (const { alias, model } of aliases.entries) {
      const target = byModel.get(normalizeModel(model))
      if (target) allowed.push({ ...target, name: alias, model: alias })
    }
    return { ...reply, models: allowed }
  }
}
