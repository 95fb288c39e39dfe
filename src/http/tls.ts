// TLS on the gateway itself: the uWS SSLApp options made from server.tls, after checking the files with node:crypto
// so that a wrong file is named (uWS only says "App construction failed"). The uWS v20.30 build (BoringSSL) refuses
// TLS 1.0 and 1.1 itself; there is no option to change that, and test/http/tls.test.ts checks it with openssl.
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { AppOptions } from '@trufflesuite/uws-js-unofficial'
import { PrivateFileError, readPrivateFile } from '../config/privateFile.js'
import type { Config } from '../config/schema.js'

export type TlsSettings = Config['server']['tls']

export class TlsError extends Error {
  readonly code = 'tls_invalid'
}

/** TLS is on when a certificate or a key is configured (both are then required). */
export function tlsEnabled(tls: TlsSettings): boolean {
  return tls.cert_file !== '' || tls.key_file !== ''
}

/** The SSLApp options for these settings, once the files are checked: present, private, matching, not expired. */
export function sslAppOptions(tls: TlsSettings, now = Date.now()): AppOptions {
  if (tls.cert_file === '' || tls.key_file === '') {
    throw new TlsError('server.tls needs both cert_file and key_file (or neither, for plain HTTP)')
  }
  const passphrase = readPassphrase(tls)
  const certificate = readCertificate(tls.cert_file)
  const key = readKey(tls.key_file, passphrase)
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsError(`server.tls.key_file ${tls.key_file} is not the key of the certificate in ${tls.cert_file}`)
  }
  if (Date.parse(certificate.validTo) <= now) {
    throw new TlsError(`server.tls.cert_file ${tls.cert_file}: the certificate expired on ${certificate.validTo}`)
  }
  return {
    cert_file_name: tls.cert_file,
    key_file_name: tls.key_file,
    ...(passphrase === undefined ? {} : { passphrase }),
    ssl_ciphers: tls.ciphers,
    ssl_prefer_low_memory_usage: tls.low_memory,
  }
}

/** The Strict-Transport-Security value for these settings, or undefined when none is sent. */
export function hstsValue(tls: TlsSettings): string | undefined {
  if (!tlsEnabled(tls) || tls.hsts === 0) return undefined
  return `max-age=${Math.floor(tls.hsts / 1000)}`
}

/** A digest of what an SSLApp is made from: the files' contents (unreadable ones as such) and the settings. */
export function tlsFingerprint(tls: TlsSettings): string {
  const hash = createHash('sha256').update(JSON.stringify({ ...tls, hsts: 0 }))
  for (const file of [tls.cert_file, tls.key_file, tls.passphrase_file]) {
    try {
      hash.update(file === '' ? '-' : readFileSync(file))
    } catch (error) {
      hash.update(`unreadable ${(error as NodeJS.ErrnoException).code}`)
    }
  }
  return hash.digest('hex')
}

function readPassphrase(tls: TlsSettings): string | undefined {
  if (tls.passphrase !== '') return tls.passphrase
  if (tls.passphrase_file === '') return undefined
  const text = privateFile(tls.passphrase_file, 'server.tls.passphrase_file').toString('utf8')
  const line = text.split('\n')[0]!.replace(/\r$/, '')
  if (line === '') throw new TlsError(`server.tls.passphrase_file ${tls.passphrase_file} is empty`)
  return line
}

function readCertificate(file: string): X509Certificate {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (error) {
    throw new TlsError(`server.tls.cert_file ${file}: ${(error as Error).message}`)
  }
  try {
    return new X509Certificate(pem)
  } catch {
    throw new TlsError(`server.tls.cert_file ${file} holds no PEM certificate`)
  }
}

function readKey(file: string, passphrase: string | undefined): KeyObject {
  const pem = privateFile(file, 'server.tls.key_file')
  try {
    return createPrivateKey({ key: pem, passphrase })
  } catch {
    const why =
      passphrase === undefined
        ? 'no PEM private key, or an encrypted one and no passphrase'
        : 'no PEM private key this passphrase opens'
    throw new TlsError(`server.tls.key_file ${file} holds ${why}`)
  }
}

function privateFile(path: string, what: string): Buffer {
  try {
    return readPrivateFile(path, what)
  } catch (error) {
    if (error instanceof PrivateFileError) throw new TlsError(error.message)
    throw error
  }
}
