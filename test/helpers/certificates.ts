// Test certificates made with Debian's openssl into a temp dir: a CA, and server certificates it signs for localhost
// and 127.0.0.1 (keys written 0600, as the gateway requires).
import { execFileSync } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface CertificateFiles {
  certFile: string
  keyFile: string
  /** The certificate's PEM text (a CA's is what clients trust). */
  pem: string
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function files(certFile: string, keyFile: string): CertificateFiles {
  chmodSync(keyFile, 0o600)
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') }
}

export function makeCa(dir: string, name: string): CertificateFiles {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  openssl([
    'req',
    '-x509',
    ...newKey,
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ])
  return files(certFile, keyFile)
}

/** A server certificate for localhost and 127.0.0.1, signed by `ca`; `passphrase` encrypts its key. */
export function makeServerCertificate(
  dir: string,
  name: string,
  ca: CertificateFiles,
  options: { passphrase?: string } = {},
): CertificateFiles {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  const request = join(dir, `${name}.csr`)
  const extensions = join(dir, `${name}.ext`)
  writeFileSync(extensions, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  const encrypt = options.passphrase === undefined ? ['-nodes'] : ['-passout', `pass:${options.passphrase}`]
  openssl(['req', '-new', ...newKey, ...encrypt, '-keyout', keyFile, '-out', request, '-subj', `/CN=${name}`])
  openssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    extensions,
  ])
  return files(certFile, keyFile)
}
