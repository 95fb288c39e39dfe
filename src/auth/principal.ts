// Who is calling: what every authenticated request carries from the credential check to the handler and the usage row.
import type { Permission, Role } from './permissions.js'
import type { AccessClaims } from './accessTokens.js'
import type { ModelMatcher } from './modelAllowList.js'

export interface Principal {
  userId: number
  username: string
  role: Role
  /**
   * The user's own weight under contention (users.weight, `parallama user set-weight`); the scheduler multiplies it by
   * the role's (scheduler.weights). Kept current like the role: a change evicts the cached principal.
   */
  weight: number
  permissions: ReadonlySet<Permission>
  /** The API key used, or null for a login session. */
  keyId: string | null
  /**
   * The keys that made this key, nearest first (its maker, its maker's maker, ...): their key limits bind it too.
   * Absent or empty for a key made by a login session or the CLI, and for a login session.
   */
  makers?: readonly string[]
  allowsModel: ModelMatcher
  /** Times after which the credential stops working (ms since epoch; Infinity = never). */
  expiresAt: number
  rotatedUntil: number
  revoked: boolean
  userActive: boolean
  /**
   * Whether the client address may use this credential (the key's allow-list and its user's: both must allow); absent
   * when neither has one. Checked right after authenticate (callerAddress.ts).
   */
  allowsAddress?: (address: string) => boolean
  /** The key's request-signing secret, when the key requires signed requests (requestSignature.ts). */
  signingSecret?: Buffer
  /** The login access token used, or undefined for an API key. */
  accessToken?: AccessClaims
}
