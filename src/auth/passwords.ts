// Password hashing, in one place: argon2id at OWASP's minimum or above (19 MiB, 2 passes, 1 lane). A stored hash made
// with weaker parameters is re-hashed after the next successful login; the decoy hash that unknown users are checked
// against has the same parameters, so that a login costs the same whether or not the user exists.
import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2'
import { randomBytes } from 'node:crypto'
import { GatewayError } from '../errors.js'

// `Algorithm` is a const enum, which isolatedModules cannot read: 2 is Argon2id.
const argon2id = 2 as Algorithm

/** The parameters every new hash uses. Raising them upgrades stored hashes at their users' next login. */
export const passwordHashOptions = Object.freeze({
  algorithm: argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} satisfies Options)

export const minPasswordLength = 8
/** Longer passwords are refused before hashing: hashing is the expensive part of a login. */
export const maxPasswordLength = 1024

/** Why a password cannot be set, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < minPasswordLength) return `the password must be at least ${minPasswordLength} characters`
  if (password.length > maxPasswordLength) return `the password must be at most ${maxPasswordLength} characters`
  return undefined
}

/** Hashes with today's parameters. Check a new password with passwordProblem first; a re-hash takes what matched. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length > maxPasswordLength) throw new GatewayError('invalid_request', passwordProblem(password))
  return hash(password, passwordHashOptions)
}

/** False for a wrong password and for a stored value that is not an argon2 hash. */
export function verifyPassword(stored: string, password: string): Promise<boolean> {
  return verify(stored, password).catch(() => false)
}

/** Whether a stored hash is weaker than the current parameters (or not argon2id at all). */
export function needsRehash(stored: string): boolean {
  try {
    const used = parseOptions(stored)
    return (
      used.algorithm !== passwordHashOptions.algorithm ||
      used.memoryCost < passwordHashOptions.memoryCost ||
      used.timeCost < passwordHashOptions.timeCost ||
      used.parallelism < passwordHashOptions.parallelism
    )
  } catch {
    return true
  }
}

let decoy: Promise<string> | undefined

/** A hash of a random password with the current parameters, made once: what unknown users are verified against. */
export function decoyHash(): Promise<string> {
  decoy ??= hash(randomBytes(16).toString('hex'), passwordHashOptions)
  return decoy
}

/** What a login needs of password hashing. */
export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(stored: string, password: string): Promise<boolean>
  needsRehash(stored: string): boolean
  decoy(): Promise<string>
}

export const argon2Passwords: PasswordHasher = {
  hash: hashPassword,
  verify: verifyPassword,
  needsRehash,
  decoy: decoyHash,
}
