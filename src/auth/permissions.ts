// Roles, their permissions, and the one table of which permission each route needs. A test walks every route and
// every role through it.

export const permissions = [
  'manage_users',
  'manage_keys',
  'manage_limits',
  'manage_models',
  'view_usage',
  'view_metrics',
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

/** Route names are `<api>.<route>`, as the route tables name them. */
export const routeAccess: Record<string, RouteAccess> = {
  'ollama.root': 'public',
  'ollama.version': 'list_models',
  'ollama.tags': 'list_models',
  'ollama.ps': 'list_models',
  'ollama.show': 'list_models',
  'ollama.generate': 'use_ollama',
  'ollama.chat': 'use_ollama',
  'ollama.embed': 'use_ollama',
  'ollama.embeddings': 'use_ollama',
  'ollama.pull': 'manage_models',
  'ollama.push': 'manage_models',
  'ollama.create': 'manage_models',
  'ollama.copy': 'manage_models',
  'ollama.delete': 'manage_models',
  'ollama.blobs': 'manage_models',
  'openai.chat_completions': 'use_openai',
  'openai.completions': 'use_openai',
  'openai.embeddings': 'use_openai',
  'openai.responses': 'use_openai',
  'openai.messages': 'use_openai',
  'openai.models': 'list_models',
  'openai.model': 'list_models',
  'auth.login': 'public',
  'auth.refresh': 'public',
  'auth.logout': 'public',
  'auth.me': 'authenticated',
  'auth.keys_list': 'manage_own_keys',
  'auth.keys_create': 'manage_own_keys',
  'auth.keys_revoke': 'manage_own_keys',
  'admin.usage': 'view_own_usage',
  'system.health': 'public',
  'system.ready': 'public',
  // Public at the door: the handler lets allow-listed addresses in, and asks anyone else for view_metrics.
  'system.metrics': 'public',
  'system.discovery': 'authenticated',
  'admin.usage_requests': 'view_own_usage',
}

export function accessFor(route: string): RouteAccess {
  const access = routeAccess[route]
  if (access === undefined) throw new Error(`route ${route} has no entry in the permission table`)
  return access
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value)
}
