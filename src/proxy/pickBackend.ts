// Which backend a request goes to. In order: one that takes traffic (health check passing, not ejected) before one
// that does not — which is taken only when no other is left; then one with a free slot (fewer requests outstanding
// than its `parallel`); then one with the model loaded, else installed (among those, the one with the fewest models
// loaded, so nothing is evicted needlessly), else any (a pull or a create names a model no backend has yet); last,
// the fewest outstanding requests per unit of weight. The gateway's queue (src/scheduler) decides when a request is
// sent; this decides where, and is asked again for each retry. A backend an admin drained is never picked, not even
// as the last resort: draining is a decision to take it out, where being down is a guess that may be wrong.
import type { Backend } from './backends.js'

/**
 * `model` in normal form (normalizeModel), null for a request that names none; `skip`: backends already tried.
 * undefined when every backend was skipped.
 */
export function pickBackend(
  backends: readonly Backend[],
  model: string | null,
  skip: readonly Backend[] | undefined,
  now: number,
): Backend | undefined {
  let best: Backend | undefined
  let bestTier = Infinity
  for (const backend of backends) {
    if (backend.draining || skip?.includes(backend)) continue
    const tier = tierOf(backend, model, now)
    if (tier < bestTier || (tier === bestTier && lessBusy(backend, best!, tier))) {
      best = backend
      bestTier = tier
    }
  }
  return best
}

/** Placement within a tier's low bits: 0 loaded (or no model), 1 installed, 2 not there. */
const installedTier = 1

function tierOf(backend: Backend, model: string | null, now: number): number {
  let tier = backend.usable(now) ? 0 : 8
  if (backend.outstanding >= backend.parallel) tier += 4
  if (model !== null) tier += backend.loaded(model, now) ? 0 : backend.installed(model) ? installedTier : 2
  return tier
}

/** Between two of one tier: fewer models loaded first when the model must be loaded, then less load per weight. */
function lessBusy(candidate: Backend, best: Backend, tier: number): boolean {
  if ((tier & 3) === installedTier && candidate.loadedCount !== best.loadedCount) {
    return candidate.loadedCount < best.loadedCount
  }
  return candidate.outstanding / candidate.weight < best.outstanding / best.weight
}

/**
 * Whether no backend has `model` (normal form): all of them have answered /api/tags and none lists it. A backend not
 * polled yet might have it, so this is false until every one answered.
 */
export function noBackendHas(backends: readonly Backend[], model: string): boolean {
  return backends.every((backend) => backend.inventory.known && !backend.installed(model))
}
