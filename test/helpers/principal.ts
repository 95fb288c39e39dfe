// A caller for in-process limiter tests: an ordinary user's unrestricted key that never expires.
import { compileAllowList } from '../../src/auth/modelAllowList.js'
import { rolePermissions } from '../../src/auth/permissions.js'
import type { Principal } from '../../src/auth/principal.js'

export const testPrincipal: Principal = {
  userId: 7,
  username: 'mallory',
  role: 'user',
  weight: 1,
  permissions: rolePermissions.user,
  keyId: 'key000000007',
  allowsModel: compileAllowList(null),
  expiresAt: Infinity,
  rotatedUntil: Infinity,
  revoked: false,
  userActive: true,
}
