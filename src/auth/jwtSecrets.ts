// The secrets that sign login tokens: from PARALLAMA_AUTH__JWT_SECRET, else from a file (one per line; the first signs,
// the rest still verify, so a secret can be rotated without logging everyone out). A missing file is created 0600 with
// a fresh 256-bit secret; an existing one is never overwritten.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface JwtSecret {
  /** `kid` header value: a fingerprint of the secret, not the secret. */
  kid: string
  key: Buffer
}

export class SecretError extends Error {
  readonly code = 'jwt_secret_invalid'
}

const minimumBytes = 32

export function loadJwtSecrets(fromEnv: string, file: string): JwtSecret[] {
  const lines = fromEnv ? [fromEnv] : readOrCreate(file)
  const secrets = lines.map((line, index) => {
    const key = Buffer.from(line, 'base64url')
    if (key.length < minimumBytes) {
      const where = fromEnv ? 'PARALLAMA_AUTH__JWT_SECRET' : `${file} line ${index + 1}`
      throw new SecretError(`${where}: a signing secret must be at least ${minimumBytes} bytes, base64url-encoded`)
    }
    return { kid: createHash('sha256').update(key).digest('hex').slice(0, 16), key }
  })
  if (secrets.length === 0) throw new SecretError(`${file} holds no signing secret`)
  return secrets
}

function readOrCreate(file: string): string[] {
  try {
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o750 })
      return readOrCreate(file)
    }
    if (code !== 'EEXIST') throw new SecretError(`cannot create ${file}: ${(error as Error).message}`)
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SecretError(`cannot read ${file}: ${(error as Error).message}`)
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}
