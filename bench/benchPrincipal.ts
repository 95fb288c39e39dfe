// The caller the in-process benches admit: an active user's key allowed every model.
import { compileAllowList } from '../src/auth/modelAllowList.js'
import { rolePermissions } from '../src/auth/permissions.js'
import type { Principal } from '../src/auth/principal.js'

export const benchPrincipal: Principal = {
  userId: 1,
  username: 'bench',
  role: 'user',
  weight: 1,
  permissions: rolePermissions.user,
  keyId: 'benchkey0001',
  allowsModel: compileAllowList(null),
  expiresAt: Infinity,
  rotatedUntil: Infinity,
  revoked: false,
  userActive: true,
}
