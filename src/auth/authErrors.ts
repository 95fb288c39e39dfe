// Credential failures: a 401 tells the client how to authenticate (RFC 6750), each with its own stable code.
import { GatewayError, type ErrorCode } from '../errors.js'

const challenge = { 'www-authenticate': 'Bearer realm="parallama"' }

const shared = new Map<string, GatewayError>()

/**
 * The failure for a code (and message). Instances are shared: creating an Error costs ~2 µs, and a flood of bad
 * credentials should cost as little as possible. GatewayError is immutable, so sharing is safe.
 */
export function authFailure(code: ErrorCode, message?: string): GatewayError {
  const id = message === undefined ? code : `${code}\n${message}`
  let failure = shared.get(id)
  if (!failure) {
    failure = new GatewayError(code, message, challenge)
    if (shared.size < 1000) shared.set(id, failure)
  }
  return failure
}
