// Stage 2, authenticate: the presented credential (key or login token) becomes a principal, and the route's permission
// is checked at once (authorize's first half): a caller who may not use the route never makes the gateway read a body.
import type { GatewayError } from '../errors.js'
import { admit, type Authenticate } from './admit.js'
import type { RouteAccess } from './permissions.js'
import type { Principal } from './principal.js'

/** undefined: a public route (nobody to know); else the principal, or the 401/403 to answer. */
export type AuthenticateStage = (
  access: RouteAccess,
  credential: string | undefined,
) => Principal | GatewayError | undefined

export function authenticateStage(authenticate: Authenticate): AuthenticateStage {
  return (access, credential) => (access === 'public' ? undefined : admit(authenticate, access, credential))
}
