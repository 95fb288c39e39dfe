// Stage 8, route: picks the backend a request goes to (src/proxy/pickBackend.ts says how; the forward stage asks
// again, skipping those tried, when one fails before the first byte reached the client).
import { GatewayError } from '../errors.js'
import type { Backend } from './backends.js'

/** `skip`: backends already tried; `model`: the one the request runs, in normal form (null: none). */
export type PickBackend = (skip?: readonly Backend[], model?: string | null) => Backend | undefined

/** The part of a request's state the route stage reads and fills in. */
export interface RoutedRequest {
  readonly model: string | null
  backend: Backend | undefined
}

export function routeRequest(pick: PickBackend, state: RoutedRequest): GatewayError | undefined {
  state.backend = pick(undefined, state.model)
  return state.backend ? undefined : new GatewayError('no_backend')
}
