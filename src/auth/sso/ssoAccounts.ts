// Which user an identity from the provider signs in as, and with which role. A user is linked to the provider's
// (issuer, subject) at first sign-in and found by that link ever after; a name that is already taken by a user not
// linked to this identity is refused, never taken over. The role is recomputed from the groups claim on every sign-in,
// so a group removed at the provider takes the role away at the next one.
import { GatewayError } from '../../errors.js'
import { displayNameBounds } from '../../store/bounds.js'
import { usernamePattern, UserError, type SsoLink, type User, type UserStore } from '../../store/users.js'
import { roles, type Role } from '../permissions.js'
import { authFailure } from '../authErrors.js'

export interface SsoPolicy {
  usernameClaims: readonly string[]
  groupsClaim: string
  roleMap: Readonly<Record<string, Role>>
  defaultRole: Role | 'none'
  allowedDomains: readonly string[]
}

export type Claims = Record<string, unknown>

export interface SignedInAccount {
  user: User
  created: boolean
  /** The role before this sign-in, when it changed. */
  previousRole?: Role
}

/** The highest role any of `groups` maps to (admin > user > readonly), else the default; undefined: none. */
export function roleFromGroups(groups: readonly string[], policy: SsoPolicy): Role | undefined {
  let best: Role | undefined
  for (const group of groups) {
    const role = Object.hasOwn(policy.roleMap, group) ? policy.roleMap[group] : undefined
    if (role !== undefined && (best === undefined || roles.indexOf(role) < roles.indexOf(best))) best = role
  }
  return best ?? (policy.defaultRole === 'none' ? undefined : policy.defaultRole)
}

/** The groups claim, at a dotted path (realm_access.roles); a single string is one group; anything else none. */
export function groupsOf(claims: Claims, path: string): string[] {
  let value: unknown = claims
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Claims)[part] : undefined
  }
  if (typeof value === 'string') return [value]
  return Array.isArray(value) ? value.filter((group): group is string => typeof group === 'string') : []
}

/** The first of the claims that makes a valid username (an email address gives its local part). */
export function usernameFrom(claims: Claims, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = claims[name]
    if (typeof value !== 'string') continue
    const candidate = value.includes('@') ? value.slice(0, value.lastIndexOf('@')) : value
    if (usernamePattern.test(candidate)) return candidate
  }
  return undefined
}

/** With allowed_domains set: the email claim must be there, verified (not email_verified: false), in one of them. */
export function domainAllowed(claims: Claims, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true
  const email = claims.email
  if (typeof email !== 'string' || claims.email_verified === false) return false
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase()
  return email.includes('@') && allowed.includes(domain)
}

/**
 * The user `link` signs in as, created or with its role brought in line with its groups; or the refusal. A linked
 * user whose groups no longer map to a role (and no default) is lowered to readonly and refused: live tokens of the
 * user lose their permissions at once (roles are read on every request).
 */
export function signInAccount(
  users: UserStore,
  link: SsoLink,
  claims: Claims,
  policy: SsoPolicy,
): SignedInAccount | GatewayError {
  if (!domainAllowed(claims, policy.allowedDomains)) return new GatewayError('sso_domain_not_allowed')
  const role = roleFromGroups(groupsOf(claims, policy.groupsClaim), policy)
  const linked = users.findBySso(link)
  if (linked) {
    if (!linked.active) return authFailure('user_disabled')
    if (role === undefined) {
      if (linked.role !== 'readonly') users.setRole(linked.username, 'readonly')
      return new GatewayError('sso_no_role')
    }
    if (role === linked.role) return { user: linked, created: false }
    return { user: users.setRole(linked.username, role), created: false, previousRole: linked.role }
  }
  if (role === undefined) return new GatewayError('sso_no_role')
  const username = usernameFrom(claims, policy.usernameClaims)
  if (username === undefined) {
    return new GatewayError(
      'sso_failed',
      `the identity has none of the claims ${policy.usernameClaims.join(', ')} as a valid username (auth.oidc.username_claims)`,
    )
  }
  if (users.find(username)) return conflict(username)
  try {
    const user = users.addLinked({ username, role, ...profile(claims) }, link)
    return { user, created: true }
  } catch (error) {
    // The same identity signed in twice at once: the other sign-in linked it first (the unique index refused ours).
    const linkedMeanwhile = users.findBySso(link)
    if (linkedMeanwhile) return { user: linkedMeanwhile, created: false }
    // The name was taken between the check and the insert (another sign-in, the CLI).
    if (error instanceof UserError && error.code === 'user_exists') return conflict(username)
    if (error instanceof UserError && error.code === 'invalid_email') {
      return {
        user: users.addLinked({ username, role, displayName: profile(claims).displayName }, link),
        created: true,
      }
    }
    throw error
  }
}

function conflict(username: string): GatewayError {
  return new GatewayError(
    'sso_user_conflict',
    `a user "${username}" exists and is not linked to this identity: an admin must rename or remove it before it can sign in with SSO`,
  )
}

function profile(claims: Claims): { email: string | null; displayName: string | null } {
  const email = typeof claims.email === 'string' && claims.email_verified !== false ? claims.email : null
  const name = typeof claims.name === 'string' ? claims.name.slice(0, displayNameBounds.max) : null
  return { email, displayName: name }
}
