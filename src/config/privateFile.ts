// A secret kept in a file (a TLS private key, its passphrase) must be readable by the service user only: a key that
// group or others can read is refused at start and on reload, rather than served and leaked.
import { readFileSync, statSync } from 'node:fs'

export class PrivateFileError extends Error {
  readonly code = 'private_file_invalid'
}

/** Reads a file that must have no group or other permission bits (0600, 0400). */
export function readPrivateFile(path: string, what: string): Buffer {
  let mode: number
  try {
    mode = statSync(path).mode
  } catch (error) {
    throw new PrivateFileError(`${what} ${path}: ${(error as Error).message}`)
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0')
    throw new PrivateFileError(
      `${what} ${path} has mode ${octal}: group or others may read it; chmod 600 it (owned by the service user)`,
    )
  }
  try {
    return readFileSync(path)
  } catch (error) {
    throw new PrivateFileError(`${what} ${path}: ${(error as Error).message}`)
  }
}
