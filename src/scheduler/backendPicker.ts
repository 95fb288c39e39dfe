// Where a request goes: among usable backends with a free slot for its model (and not excluded), one that has the
// model loaded (the least busy of them), else one that has it installed with the fewest models loaded (so nothing is
// evicted needlessly). A backend already running the model counts as having it loaded, whatever its last /api/ps said.
// A drained backend takes nothing new.
import { GatewayError } from '../errors.js'
import type { BackendView } from './schedulerTypes.js'

export function pickBackend<B>(
  backends: readonly B[],
  view: BackendView<B>,
  model: string,
  running: ReadonlyMap<B, number> | undefined,
  exclude: readonly B[] | undefined,
  now: number,
): B | undefined {
  let loaded: B | undefined
  let loadedBusy = Infinity
  let installed: B | undefined
  let installedLoadedCount = Infinity
  for (const backend of backends) {
    if (exclude !== undefined && exclude.includes(backend)) continue
    if (view.draining?.(backend) || !view.usable(backend, now) || !view.installed(backend, model)) continue
    const busy = running?.get(backend) ?? 0
    if (busy >= view.parallel(backend)) continue
    if (busy > 0 || view.loaded(backend, model)) {
      if (busy < loadedBusy) {
        loaded = backend
        loadedBusy = busy
      }
    } else if (loaded === undefined) {
      const loadedCount = view.loadedCount(backend)
      if (loadedCount < installedLoadedCount) {
        installed = backend
        installedLoadedCount = loadedCount
      }
    }
  }
  return loaded ?? installed
}

/**
 * Why a request for `model` can never be served by these backends, whatever frees up: none has the model (404), or
 * none is configured, or only excluded ones have it (503). Undefined when it can wait.
 */
export function unservable<B>(
  backends: readonly B[],
  view: BackendView<B>,
  model: string,
  exclude: readonly B[] | undefined,
): GatewayError | undefined {
  if (backends.length === 0) return new GatewayError('no_backend', 'no backend is configured')
  let installedSomewhere = false
  let drainedSomewhere = false
  for (const backend of backends) {
    if (!view.installed(backend, model)) continue
    installedSomewhere = true
    if (view.draining?.(backend)) drainedSomewhere = true
    else if (exclude === undefined || !exclude.includes(backend)) return undefined
  }
  if (!installedSomewhere) return modelNotFound(model)
  if (drainedSomewhere) {
    return new GatewayError('no_backend', `every backend that has model "${model}" is draining or was already tried`)
  }
  return new GatewayError('no_backend', `no backend other than those already tried has model "${model}"`)
}

/** Ollama's own words for a model it does not have (its native and /v1 routes both say this). */
export function modelNotFound(model: string): GatewayError {
  return new GatewayError('model_not_found', `model "${model}" not found, try pulling it first`)
}
