// docs/signing.md's client helpers, used exactly as written there against a real gateway: the JavaScript function
// (extracted from the page and imported) and the curl/openssl script (run by bash).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { unrecordedTrail } from '../helpers/auditTrail.js'
import { request } from 'undici'
import { createKey } from '../../src/admin/keys.js'
import { startRig } from '../helpers/gateway.js'

const page = readFileSync('docs/signing.md', 'utf8')

/** The fenced blocks of a language, in order. */
function blocks(language: string): string[] {
  return [...page.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!)
}

type Sign = (secret: string, method: string, path: string, body?: string) => Record<string, string>

t.test("the page's JavaScript helper signs requests the gateway accepts", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'signing-doc-'))
  const file = join(dir, 'sign.mjs')
  writeFileSync(file, blocks('js')[0]!)
  const { signRequest } = (await import(pathToFileURL(file).href)) as { signRequest: Sign }
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'signer', role: 'user' })
  const issued = createKey(rig.gateway.store, unrecordedTrail, { user: 'signer', signed: true })
  const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false })
  const headers = { authorization: `Bearer ${issued.key}`, 'content-type': 'application/json' }
  const signed = signRequest(issued.signingSecret!, 'POST', '/api/generate', body)
  const ok = await request(`${rig.url}/api/generate`, { method: 'POST', headers: { ...headers, ...signed }, body })
  t.equal(ok.statusCode, 200, await ok.body.text())
  const listed = await request(`${rig.url}/api/tags?x=1`, {
    headers: { ...headers, ...signRequest(issued.signingSecret!, 'GET', '/api/tags?x=1') },
  })
  t.equal(listed.statusCode, 200, 'a GET with a query, signed over no body')
  await listed.body.dump()
})

t.test("the page's curl and openssl script signs requests the gateway accepts", async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'shell', role: 'user' })
  const issued = createKey(rig.gateway.store, unrecordedTrail, { user: 'shell', signed: true })
  const script = blocks('sh')[0]!
    .replace(/^KEY=.*$/m, `KEY='${issued.key}'`)
    .replace(/^SECRET=.*$/m, `SECRET='${issued.signingSecret}'`)
  // Asynchronously: the gateway answers from this same process.
  const { stdout } = await promisify(execFile)('bash', ['-c', script], { env: { ...process.env, GATEWAY: rig.url } })
  t.match(JSON.parse(stdout), { model: 'llama3.2:3b', done: true })
  t.equal(rig.emulator.stats.requests, 1, 'it reached the backend')
})
