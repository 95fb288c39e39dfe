// API keys look like `plm_<id>_<secret><checksum>`: a prefix that secret scanners and people recognise, a public id
// (what lists show and the CLI takes), 256 random bits, and a CRC32 checksum that rejects typos and garbage without
// touching the database (as GitHub's tokens do). Only the SHA-256 of the whole key is stored.
import { hash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

export const keyPrefix = 'plm_'
const idLength = 12
const secretLength = 43
const checksumLength = 6
export const keyLength = keyPrefix.length + idLength + 1 + secretLength + checksumLength
const shape = /^plm_[a-z2-7]{12}_[A-Za-z0-9_-]{43}[0-9A-Za-z]{6}$/
const base32 = 'abcdefghijklmnopqrstuvwxyz234567'
const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

export interface NewKey {
  id: string
  /** The whole key: shown once, never stored. */
  key: string
  hash: Buffer
  /** What lists show: the id and the first characters of the secret. */
  prefix: string
}

export function generateKey(random: (size: number) => Buffer = randomBytes): NewKey {
  const id = Array.from(random(idLength), (byte) => base32[byte & 31]).join('')
  const secret = random(32).toString('base64url')
  const body = `${keyPrefix}${id}_${secret}`
  const key = body + checksum(body)
  return { id, key, hash: hashKey(key), prefix: `${body.slice(0, keyPrefix.length + idLength + 5)}…` }
}

function checksum(body: string): string {
  let value = crc32(body)
  let text = ''
  for (let i = 0; i < checksumLength; i++) {
    text = base62[value % 62]! + text
    value = Math.floor(value / 62)
  }
  return text
}

export type KeyShape = 'key' | 'malformed' | 'checksum'

/** Whether a credential is one of our keys: its shape, then its checksum. No database, no hashing. */
export function checkKeyShape(text: string): KeyShape {
  if (!hasKeyShape(text)) return 'malformed'
  return checksumMatches(text) ? 'key' : 'checksum'
}

export function hasKeyShape(text: string): boolean {
  return text.length === keyLength && shape.test(text)
}

export function checksumMatches(text: string): boolean {
  return checksum(text.slice(0, -checksumLength)) === text.slice(-checksumLength)
}

export function keyIdOf(key: string): string {
  return key.slice(keyPrefix.length, keyPrefix.length + idLength)
}

export function hashKey(key: string): Buffer {
  return hash('sha256', key, 'buffer')
}

/** The same digest as base64 text: what the key cache is keyed by (one-shot hashing is ~5x faster than createHash). */
export function hashKeyText(key: string): string {
  return hash('sha256', key, 'base64')
}

export function looksLikeKey(text: string): boolean {
  return text.startsWith(keyPrefix)
}
