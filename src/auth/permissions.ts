// Roles and their permissions. Which permission each route needs is declared with the route, in the one route table
// (src/api/routeTable.ts); a test walks every route and every role through it.

export const permissions = [
  'manage_users',
  'manage_keys',
  'manage_limits',
  'manage_models',
  'manage_webhooks',
  'view_usage',
  'view_metrics',
  'view_audit',
  'use_ollama',
  'use_openai',
  'list_models',
  'manage_own_keys',
  'view_own_usage',
] as const
export type Permission = (typeof permissions)[number]

export const roles = ['admin', 'user', 'readonly'] as const
export type Role = (typeof roles)[number]

export const rolePermissions: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(permissions),
  user: new Set<Permission>(['use_ollama', 'use_openai', 'list_models', 'manage_own_keys', 'view_own_usage']),
  readonly: new Set<Permission>(['list_models', 'view_own_usage']),
}

/** `public`: no credential needed; `authenticated`: any valid credential. */
export type RouteAccess = Permission | 'public' | 'authenticated'

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value)
}
