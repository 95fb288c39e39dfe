// An object's version, for the admin API's ETag and If-Match: a digest of the fields a change can alter (not of
// times that move without a change, such as a key's last use). A change that alters none of them leaves the version,
// so a repeated identical change is not a conflict; any other change gives a new one. Checked inside the write
// transaction, against the row as it is then: a change made between an admin's read and write, by the API or the CLI,
// is refused instead of overwritten.
import { createHash } from 'node:crypto'
import { GatewayError } from '../errors.js'

/** What the caller expects the object's current version to be (from If-Match); undefined: no expectation. */
export type Expected = ((version: string) => boolean) | undefined

export function versionOf(...fields: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64url').slice(0, 22)
}

/** Throws 412 precondition_failed unless the object at `version` is what the caller expected. */
export function expectVersion(expected: Expected, version: string, what: string): void {
  if (expected && !expected(version)) {
    throw new GatewayError(
      'precondition_failed',
      `${what} changed since it was read: If-Match does not name its current ETag; read it again and redo the change`,
    )
  }
}
