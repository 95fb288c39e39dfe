// /admin/v1/backends: the backends as the gateway sees them now, and drain / undrain. A drained backend gets no new
// request (the picker and the scheduler skip it; requests only it could serve are refused, 503 no_backend), those
// running on it finish. The drain outlives a reload (same name and URL), not a restart.
import { recordOutcome } from '../../admin/auditTrail.js'
import type { Emit } from '../../events/eventBus.js'
import { GatewayError } from '../../errors.js'
import type { Backend } from '../../proxy/backends.js'
import { backendStatus } from '../../proxy/backendStatus.js'
import type { JsonCall, JsonHandler } from '../jsonRoute.js'
import { byKey, pageOf, pageRequest } from '../pagination.js'

export interface BackendsContext {
  backends: () => readonly Backend[]
  health: { isUp(backend: Backend): boolean; ensureChecked(): Promise<void> }
  /** Requests waiting in the gateway queue that the backend could take. */
  waitingFor: (backend: Backend) => number
  /** Lets the scheduler look again at who waits: after an undrain they may go, after a drain some can never. */
  wake: () => void
  emit: Emit
}

export function backendHandlers(context: BackendsContext): Record<string, JsonHandler> {
  const status = (backend: Backend) =>
    backendStatus(backend, context.health.isUp(backend), context.waitingFor(backend), Date.now())
  /** Sets the drain; a second drain (or undrain) of the same backend changes nothing and says nothing. */
  const setDraining = (call: JsonCall, draining: boolean) => {
    const name = decodedSegment(call.params[0]!)
    if (name instanceof GatewayError) return name
    const backend = namedBackend(context.backends(), name)
    if (backend instanceof GatewayError) return backend
    if (backend.draining !== draining) {
      backend.draining = draining
      recordOutcome(call.trail, draining ? 'backend.drain' : 'backend.undrain', `backend:${backend.name}`, undefined, {
        draining,
      })
      context.wake()
      const data = { backend: backend.name, url: backend.url, by: call.principal!.username }
      context.emit(draining ? 'backend.drained' : 'backend.undrained', data)
    }
    return { status: 200, body: status(backend) }
  }
  return {
    backends_list: async ({ request }) => {
      await context.health.ensureChecked()
      const paging = pageRequest(new URLSearchParams(request.query), 'backends')
      if (paging instanceof GatewayError) return paging
      const key = (item: { name: string }) => item.name
      const items = [...context.backends()].map(status).sort(byKey(key))
      return { status: 200, body: pageOf(items, paging, 'backends', key, (item) => item) }
    },
    backends_drain: (call) => setDraining(call, true),
    backends_undrain: (call) => setDraining(call, false),
  }
}

function decodedSegment(raw: string): string | GatewayError {
  try {
    return decodeURIComponent(raw)
  } catch {
    return new GatewayError('invalid_request', 'the backend name in the path is not valid percent-encoding')
  }
}

/** The backend of that name, or 404 backend_not_found. */
export function namedBackend(backends: readonly Backend[], name: string): Backend | GatewayError {
  const found = backends.find((backend) => backend.name === name)
  if (found) return found
  const names = backends.map((backend) => backend.name).join(', ')
  return new GatewayError('backend_not_found', `no backend named "${name}" (configured: ${names})`)
}
