// The one table of gateway-made errors: a stable code, its HTTP status and the default message. Every error response
// and error log line carries the code; each API dialect (src/http/errorResponse.ts) renders it in its own shape.

export const errorTable = {
  not_found: { status: 404, message: 'no such route' },
  method_not_allowed: { status: 405, message: 'method not allowed on this route' },
  body_too_large: { status: 413, message: 'request body too large' },
  headers_too_large: { status: 431, message: 'request header block too large' },
  invalid_json: { status: 400, message: 'request body is not valid JSON' },
  invalid_request: { status: 400, message: 'invalid request' },
  key_not_found: { status: 404, message: 'no such API key' },
  user_not_found: { status: 404, message: 'no such user' },
  user_exists: { status: 409, message: 'a user with this name already exists' },
  key_not_active: { status: 409, message: 'this API key is revoked or rotated already' },
  last_admin: { status: 409, message: 'this would leave no active admin' },
  limit_not_found: { status: 404, message: 'no limits are set for this subject' },
  webhook_not_found: { status: 404, message: 'no such webhook' },
  file_not_found: { status: 404, message: 'no such file' },
  file_in_use: { status: 409, message: 'this file is the input of a batch still running' },
  file_too_large: { status: 413, message: 'the file is larger than this gateway accepts (batch.max_file_bytes)' },
  batch_not_found: { status: 404, message: 'no such batch' },
  batch_not_cancellable: { status: 409, message: 'this batch has ended and cannot be cancelled' },
  precondition_failed: {
    status: 412,
    message: 'the object changed since it was read (If-Match does not match its ETag); read it again',
  },
  missing_credential: { status: 401, message: 'an API key or access token is required (Authorization: Bearer ...)' },
  invalid_api_key: { status: 401, message: 'invalid API key' },
  key_expired: { status: 401, message: 'this API key has expired' },
  key_revoked: { status: 401, message: 'this API key has been revoked' },
  key_rotated: { status: 401, message: 'this API key was rotated and its grace period is over; use its successor' },
  user_disabled: { status: 401, message: 'the account this credential belongs to is disabled' },
  invalid_token: { status: 401, message: 'invalid access token' },
  token_expired: { status: 401, message: 'this access token has expired; refresh it or log in again' },
  token_revoked: { status: 401, message: 'this token has been revoked; log in again' },
  refresh_token_reused: {
    status: 401,
    message: 'this refresh token was already used: every session of its login has been ended, log in again',
  },
  invalid_credentials: { status: 401, message: 'wrong username or password' },
  login_throttled: { status: 429, message: 'too many failed logins; wait before trying again' },
  sso_not_configured: { status: 404, message: 'single sign-on is not configured on this gateway (auth.oidc.issuer)' },
  sso_state_invalid: {
    status: 400,
    message: 'this sign-in was not started here, was already used or has expired; start the sign-in again',
  },
  sso_failed: { status: 502, message: 'the identity provider did not complete the sign-in; start it again' },
  sso_unavailable: { status: 503, message: 'the identity provider cannot be reached (discovery or its keys)' },
  sso_user_conflict: {
    status: 409,
    message: 'a user of this name exists and is not linked to this identity; an admin must link or rename it',
  },
  sso_domain_not_allowed: { status: 403, message: "the identity's email domain is not allowed to sign in here" },
  sso_no_role: { status: 403, message: "the identity's groups map to no role, and no default role is configured" },
  sso_code_invalid: { status: 400, message: 'this sign-in code is unknown, used or expired; sign in again' },
  rate_limit_exceeded: { status: 429, message: 'rate limit exceeded' },
  quota_exceeded: { status: 429, message: 'token quota used up for this period' },
  signature_missing: {
    status: 401,
    message: 'this API key requires signed requests: send x-parallama-timestamp and x-parallama-signature',
  },
  signature_invalid: { status: 401, message: 'the request signature does not match (see docs/signing.md)' },
  signature_expired: {
    status: 401,
    message: 'the request timestamp is outside the allowed clock skew (auth.signature_skew); sign it again',
  },
  signature_replayed: { status: 401, message: 'this signed request was already received; sign a new one' },
  signature_cache_full: {
    status: 503,
    message: 'too many signed requests in the replay window to remember more; retry shortly',
  },
  address_not_allowed: { status: 403, message: 'requests from this client address are not allowed' },
  permission_denied: { status: 403, message: 'this credential may not use this route' },
  model_not_allowed: { status: 403, message: 'this credential may not use this model' },
  key_broader_than_credential: {
    status: 403,
    message: 'an API key may only make keys narrower than itself (its models, its expiry)',
  },
  model_not_found: { status: 404, message: 'model not found, try pulling it first' },
  no_backend: { status: 503, message: 'no backend is available' },
  backend_not_found: { status: 404, message: 'no backend of that name is configured' },
  queue_full: { status: 503, message: 'server busy, please try again: the gateway queue is full' },
  queue_timeout: { status: 503, message: 'server busy, please try again: waited too long in the gateway queue' },
  shutting_down: { status: 503, message: 'the gateway is shutting down; retry (another instance may answer)' },
  upstream_unreachable: { status: 502, message: 'the backend could not be reached' },
  upstream_timeout: { status: 504, message: 'the backend did not answer in time' },
  upstream_failed: { status: 502, message: 'the backend failed while answering' },
  internal_error: { status: 500, message: 'internal error' },
  plugin_error: { status: 500, message: 'a plugin failed while handling this request' },
  plugin_refused: { status: 403, message: 'a plugin refused this request' },
} as const satisfies Record<string, { status: number; message: string }>

export type ErrorCode = keyof typeof errorTable

/** An error the gateway answers itself, by code from the table. */
export class GatewayError extends Error {
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string = errorTable[code].message,
    readonly headers?: Record<string, string>,
    /** A detail for metrics, e.g. which kind of limit refused (rpm, tpm, daily_tokens). */
    readonly detail?: string,
  ) {
    super(message)
    this.status = errorTable[code].status
  }
}

/**
 * A plugin's refusal (docs/plugins.md): the gateway's code is `plugin_refused`, the status (4xx) and the code the client
 * reads in the dialect's body are the plugin's.
 */
export class PluginRefusal extends GatewayError {
  constructor(
    status: number,
    /** The plugin's code, checked to be 1-64 of [a-z0-9_.-]. */
    readonly clientCode: string,
    message: string,
  ) {
    super('plugin_refused', message)
    ;(this as { status: number }).status = status
  }
}

/**
 * A request body refused for one field (docs/validation.md): `pointer` is the field's JSON pointer (RFC 6901, e.g.
 * `/messages/0/role`), which the OpenAI dialect also gives as `param`.
 */
export class FieldRefusal extends GatewayError {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super('invalid_request', message)
  }
}

/** The code an error's body names: a plugin's own for its refusal, else the table's. */
export function clientCode(error: GatewayError): string {
  return error instanceof PluginRefusal ? error.clientCode : error.code
}
