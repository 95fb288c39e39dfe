// Signed checkpoints of the audit chain: the newest row's seq and hash and the time, signed with Ed25519 (node:crypto).
// Kept off the box, one proves later that the rows up to its seq still exist unchanged, which the chain alone cannot
// (cutting off the newest rows leaves a valid shorter chain). The private key lives in a 0600 file (PKCS#8 PEM), the
// public key is handed to whoever verifies.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'

export interface Checkpoint {
  seq: number
  hash: string
  /** When it was made (ISO 8601). */
  time: string
  /** Ed25519 over the canonical text of the three fields above, base64. */
  signature: string
}

export class CheckpointError extends Error {}

const context = 'parallama-audit-checkpoint-v1'

function signedText(seq: number, hash: string, time: string): Buffer {
  return Buffer.from(JSON.stringify([context, seq, hash, time]))
}

/** Writes a new key pair's private key to `file` (0600, never over an existing file); returns the public key PEM. */
export function generateSigningKey(file: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  try {
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  } catch (error) {
    throw new CheckpointError(`cannot write ${file}: ${(error as Error).message}`)
  }
  return publicKey.export({ type: 'spki', format: 'pem' }).toString()
}

/** The private key from its file, refused when others may read the file. */
export function loadSigningKey(file: string): KeyObject {
  let mode: number
  let text: string
  try {
    mode = statSync(file).mode
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CheckpointError(`cannot read the signing key ${file}: ${(error as Error).message}`)
  }
  if ((mode & 0o077) !== 0) {
    throw new CheckpointError(
      `the signing key ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    )
  }
  const key = parseKey(() => createPrivateKey(text), file, 'private')
  if (key.asymmetricKeyType !== 'ed25519') throw new CheckpointError(`${file} is not an Ed25519 private key`)
  return key
}

export function loadPublicKey(file: string): KeyObject {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CheckpointError(`cannot read the public key ${file}: ${(error as Error).message}`)
  }
  const key = parseKey(() => createPublicKey(text), file, 'public')
  if (key.asymmetricKeyType !== 'ed25519') throw new CheckpointError(`${file} is not an Ed25519 public key`)
  return key
}

function parseKey(parse: () => KeyObject, file: string, kind: string): KeyObject {
  try {
    return parse()
  } catch {
    throw new CheckpointError(`${file} does not hold a ${kind} key in PEM`)
  }
}

export function signCheckpoint(link: { seq: number; hash: string }, key: KeyObject, now = new Date()): Checkpoint {
  const time = now.toISOString()
  const signature = sign(null, signedText(link.seq, link.hash, time), key).toString('base64')
  return { seq: link.seq, hash: link.hash, time, signature }
}

/** The checkpoint in `text` when its signature is good under `key`; otherwise a CheckpointError saying why. */
export function readCheckpoint(text: string, key: KeyObject, file: string): Checkpoint {
  let value: Partial<Checkpoint>
  try {
    value = JSON.parse(text) as Partial<Checkpoint>
  } catch {
    throw new CheckpointError(`${file} is not a checkpoint (not JSON)`)
  }
  const { seq, hash, time, signature } = value
  if (
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 0 ||
    typeof hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(hash) ||
    typeof time !== 'string' ||
    typeof signature !== 'string'
  ) {
    throw new CheckpointError(`${file} is not a checkpoint (needs seq, hash, time and signature)`)
  }
  if (!verify(null, signedText(seq, hash, time), key, Buffer.from(signature, 'base64'))) {
    throw new CheckpointError(`${file}: the signature does not match the public key (forged or altered checkpoint)`)
  }
  return { seq, hash, time, signature }
}
