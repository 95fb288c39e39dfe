// Stage 8, route: picks the backend a request goes to (the healthy one with the fewest outstanding requests per
// weight; the forward stage asks again, skipping those tried, when one cannot be reached before the first byte).
import { GatewayError } from '../errors.js'
import type { Backend } from './backends.js'

export type PickBackend = (skip?: Backend[]) => Backend | undefined

/** The part of a request's state the route stage fills in. */
export interface RoutedRequest {
  backend: Backend | undefined
}

export function routeRequest(pick: PickBackend, state: RoutedRequest): GatewayError | undefined {
  state.backend = pick()
  return state.backend ? undefined : new GatewayError('no_backend')
}
