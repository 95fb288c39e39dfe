// Credential failures: a 401 tells the client how to authenticate (RFC 6750), each with its own stable code.
import { GatewayError, type ErrorCode } from '../errors.js'

const challenge = { 'www-authenticate': 'Bearer realm="parallama"' }

export function authFailure(code: ErrorCode, message?: string): GatewayError {
  return new GatewayError(code, message, challenge)
}
