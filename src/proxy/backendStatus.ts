// How a backend looks in the admin API (GET /admin/v1/backends): where it is, whether it takes traffic and why not,
// its slots and what runs and waits for it, the models in its memory, and its last health check.
import type { Backend } from './backends.js'

export type BackendState = 'up' | 'down' | 'ejected' | 'draining'

export interface BackendStatus {
  name: string
  url: string
  state: BackendState
  parallel: number
  in_flight: number
  queued: number
  models_loaded: string[]
  /** The last health check it answered (ISO 8601); null before the first. */
  last_check: string | null
  last_error: string | null
}

/** The one reading of a backend's state (the admin API's backends and the overview): see backendStatus. */
export function backendState(backend: Pick<Backend, 'draining' | 'ejection'>, up: boolean): BackendState {
  return backend.draining ? 'draining' : !up ? 'down' : backend.ejection.out ? 'ejected' : 'up'
}

/**
 * `up`: whether its health check passes (BackendHealth.isUp); `queued`: requests waiting in the gateway that it could
 * take. The admin's drain comes first (it outlasts whatever the health checks say, which last_error still shows);
 * then a failing health check, then an ejection after failed requests.
 */
export function backendStatus(backend: Backend, up: boolean, queued: number, now: number): BackendStatus {
  return {
    name: backend.name,
    url: backend.url,
    state: backendState(backend, up),
    parallel: backend.parallel,
    in_flight: backend.outstanding,
    queued,
    models_loaded: backend.inventory
      .loadedList(now)
      .map((entry) => entry.name)
      .sort(),
    last_check: backend.lastOkAt === 0 ? null : new Date(backend.lastOkAt).toISOString(),
    last_error: backend.lastError ?? null,
  }
}
