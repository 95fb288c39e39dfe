// TLS on the gateway itself (server.tls): real clients over https with the test CA (undici, the openai client, curl),
// the native and OpenAI routes streaming through it, TLS 1.0/1.1 refused (openssl s_client), HSTS, the key file's
// mode, and a reload (SIGHUP's path) whose new certificate a new connection sees while an open one keeps its own.
import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type PeerCertificate } from 'node:tls'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import t from 'tap'
import { Agent, fetch as undiciFetch, request } from 'undici'
import { configFrom } from '../../src/config/load.js'
import { sslAppOptions } from '../../src/http/tls.js'
import { makeCa, makeServerCertificate, type CertificateFiles } from '../helpers/certificates.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'parallama-tls-'))
const ca = makeCa(dir, 'test-ca')
const first = makeServerCertificate(dir, 'first', ca)
const second = makeServerCertificate(dir, 'second', ca)

function tlsSettings(certificate: CertificateFiles, more: Record<string, unknown> = {}) {
  return { server: { tls: { cert_file: certificate.certFile, key_file: certificate.keyFile, ...more } } }
}

function httpsUrl(rig: Rig): string {
  return `https://localhost:${rig.gateway.port}`
}

/** The certificate a new TLS connection to the gateway is served (its CN), and whether the CA vouches for it. */
function peerCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca.pem, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate())
      socket.end()
    })
    socket.on('error', reject)
  })
}

t.test('https with the test CA: native and OpenAI routes stream, HSTS on every answer, curl agrees', async (t) => {
  const rig = await startRig(t, tlsSettings(first))
  const agent = new Agent({ connect: { ca: ca.pem } })
  t.teardown(() => agent.close())

  const native = await request(`${httpsUrl(rig)}/api/generate`, {
    dispatcher: agent,
    method: 'POST',
    headers: { ...rig.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', options: { num_predict: 5 } }),
  })
  t.equal(native.statusCode, 200)
  t.equal(native.headers['strict-transport-security'], 'max-age=31536000', 'HSTS: a year by default')
  const lines = (await native.body.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>)
  t.equal(lines.length, 6, 'five tokens and the final object, streamed as NDJSON')
  t.equal(lines.at(-1)!.done, true)

  const openai = new OpenAI({
    baseURL: `${httpsUrl(rig)}/v1`,
    apiKey: rig.key,
    maxRetries: 0,
    fetch: (url, init) => undiciFetch(url as string, { ...(init as object), dispatcher: agent }),
  })
  const chunks = []
  const stream = await openai.chat.completions.create({
    model: 'llama3.2:3b',
    messages: [{ role: 'user', content: 'hello there' }],
    stream: true,
    max_tokens: 5,
  })
  for await (const chunk of stream) chunks.push(chunk)
  t.equal(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''), 'The quick brown fox jumps')

  const refused = await request(`${httpsUrl(rig)}/api/tags`, { dispatcher: agent })
  t.equal(refused.statusCode, 401, 'an error answer')
  t.equal(refused.headers['strict-transport-security'], 'max-age=31536000', 'carries HSTS too')
  await refused.body.dump()

  const caFile = join(dir, 'ca-for-curl.pem')
  writeFileSync(caFile, ca.pem)
  const curl = await run('curl', [
    '-sS',
    '--cacert',
    caFile,
    '-H',
    `authorization: Bearer ${rig.key}`,
    `${httpsUrl(rig)}/api/tags`,
  ])
  t.match(JSON.parse(curl.stdout), { models: Array }, 'curl verifies the chain and gets the model list')
  await t.rejects(run('curl', ['-sS', `${httpsUrl(rig)}/api/tags`]), 'curl without the CA refuses the certificate')
  await t.rejects(request(`http://127.0.0.1:${rig.gateway.port}/api/tags`), 'plain HTTP is not served on a TLS port')
})

t.test('TLS 1.0 and 1.1 are refused, 1.2 and 1.3 served (openssl s_client)', async (t) => {
  const rig = await startRig(t, tlsSettings(first))
  const handshake = async (version: string) => {
    const args = ['s_client', '-connect', `127.0.0.1:${rig.gateway.port}`, `-${version}`, '-CAfile', ca.certFile]
    // SECLEVEL=0 so that the client itself offers the old versions: any refusal is the gateway's.
    if (version === 'tls1' || version === 'tls1_1') args.push('-cipher', 'DEFAULT@SECLEVEL=0')
    const result = await run('openssl', args, { timeout: 10_000 }).then(
      (done) => done.stdout + done.stderr,
      (error: { stdout: string; stderr: string }) => error.stdout + error.stderr,
    )
    return result
  }
  for (const version of ['tls1', 'tls1_1']) t.match(await handshake(version), /alert protocol version/, version)
  t.match(await handshake('tls1_2'), /New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES(128|256)-GCM/, 'TLS 1.2, an AEAD suite')
  t.match(await handshake('tls1_3'), /New, TLSv1\.3/, 'TLS 1.3')
  const cbc = await run('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${rig.gateway.port}`,
    '-tls1_2',
    '-cipher',
    'ECDHE-ECDSA-AES128-SHA',
  ]).then(
    (done) => done.stdout + done.stderr,
    (error: { stdout: string; stderr: string }) => error.stdout + error.stderr,
  )
  t.match(cbc, /handshake failure|no shared cipher|alert/, 'a CBC suite is not among server.tls.ciphers')
})

t.test('a reload serves the new certificate to new connections; an open one keeps its own', async (t) => {
  const rig = await startRig(t, tlsSettings(first))
  t.equal((await peerCertificate(rig.gateway.port)).subject.CN, 'first')
  // An open keep-alive connection, made before the reload.
  const agent = new Agent({ connect: { ca: ca.pem }, pipelining: 1, connections: 1 })
  t.teardown(() => agent.close())
  const before = await request(`${httpsUrl(rig)}/api/tags`, { dispatcher: agent, headers: rig.headers })
  await before.body.dump()
  t.equal(before.statusCode, 200)

  const next = configFrom({
    ...structuredClone(rig.config),
    server: { ...rig.config.server, tls: { ...rig.config.server.tls, ...tlsSettings(second).server.tls } },
  })
  t.same(rig.gateway.reload(next), [], 'nothing of server.tls needs a restart')
  t.equal((await peerCertificate(rig.gateway.port)).subject.CN, 'second', 'a new connection sees the new certificate')
  t.match(rig.logs.join('\n'), /TLS certificate reloaded/)
  rig.gateway.reload(next)
  t.equal(
    rig.logs.filter((line) => line.includes('TLS certificate reloaded')).length,
    1,
    'a reload with the same files and settings keeps the running app',
  )

  const after = await request(`${httpsUrl(rig)}/api/tags`, { dispatcher: agent, headers: rig.headers })
  await after.body.dump()
  t.equal(after.statusCode, 200, 'the connection opened before the reload is still served')

  // A reload whose key does not match its certificate is refused; the running certificate stays.
  const broken = configFrom({
    ...structuredClone(rig.config),
    server: {
      ...rig.config.server,
      tls: { ...rig.config.server.tls, cert_file: first.certFile, key_file: second.keyFile },
    },
  })
  rig.gateway.reload(broken)
  t.match(rig.logs.join('\n'), /TLS reload refused; the running certificate stays/)
  t.equal((await peerCertificate(rig.gateway.port)).subject.CN, 'second', 'still the last good certificate')
})

t.test('hsts: 0 sends no Strict-Transport-Security header', async (t) => {
  const rig = await startRig(t, tlsSettings(first, { hsts: 0 }))
  const agent = new Agent({ connect: { ca: ca.pem } })
  t.teardown(() => agent.close())
  const answer = await request(`${httpsUrl(rig)}/api/tags`, { dispatcher: agent, headers: rig.headers })
  await answer.body.dump()
  t.equal(answer.statusCode, 200)
  t.equal(answer.headers['strict-transport-security'], undefined)
})

t.test('an encrypted key opens with its passphrase file (0600)', async (t) => {
  const sub = mkdtempSync(join(dir, 'encrypted-'))
  const encrypted = makeServerCertificate(sub, 'encrypted', ca, { passphrase: 'correct horse' })
  const passphraseFile = join(sub, 'passphrase')
  writeFileSync(passphraseFile, 'correct horse\n', { mode: 0o600 })
  const rig = await startRig(t, tlsSettings(encrypted, { passphrase_file: passphraseFile }))
  t.equal((await peerCertificate(rig.gateway.port)).subject.CN, 'encrypted')
})

t.test('what start-up refuses, naming the file and what is wrong', async (t) => {
  const settings = (more: Record<string, string>) =>
    configFrom({ server: { tls: { cert_file: first.certFile, key_file: first.keyFile, ...more } } }).server.tls
  const readable = join(dir, 'readable.key')
  writeFileSync(readable, '')
  chmodSync(readable, 0o644)
  t.throws(() => sslAppOptions(settings({ key_file: readable })), {
    code: 'tls_invalid',
    message: /readable\.key has mode 0644: group or others may read it; chmod 600 it/,
  })
  t.throws(() => sslAppOptions(settings({ key_file: second.keyFile })), {
    message: /second\.key is not the key of the certificate in .*first\.crt/,
  })
  t.throws(() => sslAppOptions(settings({ cert_file: '' })), { message: /needs both cert_file and key_file/ })
  t.throws(() => sslAppOptions(settings({ cert_file: join(dir, 'missing.crt') })), {
    message: /missing\.crt: ENOENT/,
  })
  t.throws(() => sslAppOptions(settings({ cert_file: first.keyFile })), { message: /holds no PEM certificate/ })
  t.throws(() => sslAppOptions(settings({}), Date.now() + 30 * 86_400_000), {
    message: /first\.crt: the certificate expired on/,
  })
  t.throws(() => configFrom({ server: { tls: { passphrase: 'in the file' } } }), /no secret in the file/)
  await t.rejects(startRig(t, tlsSettings(first, { key_file: readable })), { code: 'tls_invalid' })
})
