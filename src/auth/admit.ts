// The gate every non-public route passes: a valid credential whose role has the permission the route needs.
import { GatewayError } from '../errors.js'
import type { RouteAccess } from './permissions.js'
import type { Principal } from './principal.js'

export type Authenticate = (credential: string | undefined) => Principal | GatewayError

export function admit(
  authenticate: Authenticate,
  access: Exclude<RouteAccess, 'public'>,
  credential: string | undefined,
): Principal | GatewayError {
  const principal = authenticate(credential)
  if (principal instanceof GatewayError || access === 'authenticated' || principal.permissions.has(access)) {
    return principal
  }
  return new GatewayError('permission_denied', `the ${principal.role} role may not use this route (needs ${access})`)
}
