// Issue 15, key policy against a real gateway: signed requests (missing, forged, stale, replayed, accepted), address
// allow-lists (gateway, key, user) and trusted proxies. A refusal never reaches a backend (the emulator's request
// count) nor a limit (the key's rpm counter: the next admitted request shows what is left).
import { createHash, createHmac } from 'node:crypto'
import t from 'tap'
import { unrecordedTrail } from '../helpers/auditTrail.js'
import { request } from 'undici'
import { createKey } from '../../src/admin/keys.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const body = JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false })

function sign(secret: string, method: string, path: string, payload = '', at = Date.now()) {
  const timestamp = String(Math.floor(at / 1000))
  const hash = createHash('sha256').update(payload).digest('hex')
  const signature = createHmac('sha256', secret).update(`${method}\n${path}\n${timestamp}\n${hash}`).digest('hex')
  return { 'x-parallama-timestamp': timestamp, 'x-parallama-signature': signature }
}

async function call(rig: Rig, method: string, path: string, headers: Record<string, string>, payload?: string) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: payload,
  })
  const text = await response.body.text()
  // Every dialect carries the stable code in this header.
  const code = response.headers['x-parallama-error'] as string | undefined
  return { status: response.statusCode, code, text, headers: response.headers }
}

/** A user's key with an rpm limit of 5 and the headers that present it. */
function limitedKey(rig: Rig, username: string, fields: { signed?: boolean; allowIp?: string[] | null } = {}) {
  rig.gateway.store.users.add({ username, role: 'admin' })
  const issued = createKey(rig.gateway.store, unrecordedTrail, { user: username, ...fields })
  rig.gateway.store.limits.set({
    subjectType: 'key',
    subject: issued.record.id,
    gateway: '*',
    model: '',
    values: { rpm: 5 },
  })
  rig.gateway.authenticator.pollChanges()
  return { issued, headers: { authorization: `Bearer ${issued.key}` } }
}

t.test('signed keys: every bad signature is a 401 that touches no limit and no backend', async (t) => {
  const rig = await startRig(t)
  const { issued, headers } = limitedKey(rig, 'signer', { signed: true })
  const secret = issued.signingSecret!
  t.match(issued.signingSecret, /^pls_[A-Za-z0-9_-]{43}$/)
  const path = '/api/generate'
  const cases: [string, Record<string, string>, string][] = [
    ['no headers', {}, 'signature_missing'],
    [
      'no timestamp',
      { 'x-parallama-signature': sign(secret, 'POST', path, body)['x-parallama-signature'] },
      'signature_missing',
    ],
    ['another secret', sign('pls_other', 'POST', path, body), 'signature_invalid'],
    ['another body', sign(secret, 'POST', path, '{}'), 'signature_invalid'],
    ['another path', sign(secret, 'POST', '/api/chat', body), 'signature_invalid'],
    ['another method', sign(secret, 'PUT', path, body), 'signature_invalid'],
    [
      'upper-case hex',
      { ...sign(secret, 'POST', path, body), 'x-parallama-signature': 'A'.repeat(64) },
      'signature_invalid',
    ],
    ['a timestamp in ms', { ...sign(secret, 'POST', path, body), 'x-parallama-timestamp': 'x' }, 'signature_invalid'],
    ['ten minutes old', sign(secret, 'POST', path, body, Date.now() - 600_000), 'signature_expired'],
    ['ten minutes ahead', sign(secret, 'POST', path, body, Date.now() + 600_000), 'signature_expired'],
  ]
  for (const [what, signature, code] of cases) {
    const answer = await call(rig, 'POST', path, { ...headers, ...signature }, body)
    t.equal(answer.status, 401, `${what}: 401`)
    t.equal(answer.code, code, `${what}: ${code}`)
    t.equal(answer.headers['x-ratelimit-limit'], undefined, `${what}: no limit was asked`)
  }
  t.equal(rig.emulator.stats.requests, 0, 'no refused request reached the backend')
  const good = sign(secret, 'POST', path, body)
  const first = await call(rig, 'POST', path, { ...headers, ...good }, body)
  t.equal(first.status, 200, 'a good signature goes through')
  t.equal(first.headers['x-ratelimit-remaining'], '4', 'the refusals took nothing from the rpm limit')
  const again = await call(rig, 'POST', path, { ...headers, ...good }, body)
  t.same([again.status, again.code], [401, 'signature_replayed'], 'the same signature again: replayed')
  t.equal(rig.emulator.stats.requests, 1, 'only the signed request reached the backend')
  const row = rig.ended.at(-1)!
  t.equal(row.keyId, null, 'a refused signed request is nobody’s in its usage row')
  const emulatorSaw = rig.emulator.stats.lastHeaders
  t.equal(emulatorSaw['x-parallama-signature'], undefined, 'the signature headers are not forwarded')
  t.equal(emulatorSaw['x-parallama-timestamp'], undefined)
})

t.test('signed keys on the admin API: checked over the JSON body, before the limits', async (t) => {
  const rig = await startRig(t)
  const { issued, headers } = limitedKey(rig, 'boss', { signed: true })
  const secret = issued.signingSecret!
  const unsigned = await call(rig, 'GET', '/admin/v1/keys', headers)
  t.same([unsigned.status, unsigned.code], [401, 'signature_missing'])
  const listed = await call(rig, 'GET', '/admin/v1/keys?limit=5', {
    ...headers,
    ...sign(secret, 'GET', '/admin/v1/keys?limit=5'),
  })
  t.equal(listed.status, 200)
  t.equal(listed.headers['x-ratelimit-remaining'], '4', 'the refused one was not counted')
  const shown = JSON.parse(listed.text) as { items: { id: string; signed: boolean; allow_ip: unknown }[] }
  const mine = shown.items.find((key) => key.id === issued.record.id)!
  t.same([mine.signed, mine.allow_ip], [true, null], 'the view says signed, and never holds the secret')
  t.notMatch(listed.text, secret, 'no secret in a view')
  const create = JSON.stringify({ user: 'boss', name: 'made' })
  const forged = await call(
    rig,
    'POST',
    '/admin/v1/keys',
    { ...headers, ...sign(secret, 'POST', '/admin/v1/keys', '{}') },
    create,
  )
  t.same([forged.status, forged.code], [401, 'signature_invalid'], 'a signature over another body')
  const made = await call(
    rig,
    'POST',
    '/admin/v1/keys',
    { ...headers, ...sign(secret, 'POST', '/admin/v1/keys', create) },
    create,
  )
  t.equal(made.status, 201, made.text)
  const rotate = JSON.stringify({ grace: '0' })
  const rotatePath = `/admin/v1/keys/${issued.record.id}/rotate`
  const rotated = await call(
    rig,
    'POST',
    rotatePath,
    { ...headers, ...sign(secret, 'POST', rotatePath, rotate) },
    rotate,
  )
  t.equal(rotated.status, 201, rotated.text)
  const successor = JSON.parse(rotated.text) as { signed: boolean; signing_secret: string; replaces: object }
  t.equal(successor.signed, true, 'a signed key’s successor is signed')
  t.match(successor.signing_secret, /^pls_/, 'with a secret of its own, shown once')
  t.not(successor.signing_secret, secret)
  t.notOk('signing_secret' in successor.replaces, 'the old key’s view holds no secret')
  const logs = rig.logs.join('\n')
  t.notOk(logs.includes(secret) || logs.includes(successor.signing_secret), 'no signing secret in the logs')
})

t.test("a key's and a user's allow_ip: 403 from elsewhere, on every API, counted nowhere", async (t) => {
  const rig = await startRig(t)
  const { issued, headers } = limitedKey(rig, 'fenced', { allowIp: ['10.0.0.0/8', '2001:db8::/32'] })
  for (const [method, path, payload] of [
    ['POST', '/api/generate', body],
    ['GET', '/api/tags', undefined],
    ['GET', '/admin/v1/keys', undefined],
    ['GET', '/auth/v1/me', undefined],
  ] as const) {
    const answer = await call(rig, method, path, headers, payload)
    t.same([answer.status, answer.code], [403, 'address_not_allowed'], `${method} ${path}`)
    t.equal(answer.headers['x-ratelimit-limit'], undefined, `${method} ${path}: no limit was asked`)
  }
  t.equal(rig.emulator.stats.requests, 0, 'nothing reached the backend')
  // The admin widens it (as the CLI's key update does) to loopback: the key works, with its whole rpm left.
  const patch = JSON.stringify({ allow_ip: ['127.0.0.1/32', '::1'] })
  const patched = await call(rig, 'PATCH', `/admin/v1/keys/${issued.record.id}`, rig.headers, patch)
  t.equal(patched.status, 200, patched.text)
  t.same(JSON.parse(patched.text).allow_ip, ['127.0.0.1/32', '::1'])
  rig.gateway.authenticator.pollChanges()
  const now = await call(rig, 'POST', '/api/generate', headers, body)
  t.equal(now.status, 200)
  t.equal(now.headers['x-ratelimit-remaining'], '4', 'the refusals took nothing from the rpm limit')
  const bad = await call(
    rig,
    'PATCH',
    `/admin/v1/keys/${issued.record.id}`,
    rig.headers,
    '{"allow_ip": ["10.0.0.0/33"]}',
  )
  t.same([bad.status, bad.code], [400, 'invalid_request'], 'a range that is not one')
  // A user's list binds every credential of the user.
  const userPatch = await call(rig, 'PATCH', '/admin/v1/users/fenced', rig.headers, '{"allow_ip": ["192.0.2.0/24"]}')
  t.equal(userPatch.status, 200, userPatch.text)
  t.same(JSON.parse(userPatch.text).allow_ip, ['192.0.2.0/24'])
  rig.gateway.authenticator.pollChanges()
  const byUser = await call(rig, 'GET', '/api/tags', headers)
  t.same([byUser.status, byUser.code], [403, 'address_not_allowed'], "the user's list applies to the key")
  await call(rig, 'PATCH', '/admin/v1/users/fenced', rig.headers, '{"allow_ip": null}')
  rig.gateway.authenticator.pollChanges()
  t.equal((await call(rig, 'GET', '/api/tags', headers)).status, 200, 'cleared, the key works again')
})

t.test('server.allow_ip: everything but the probes is refused from elsewhere', async (t) => {
  const rig = await startRig(t, { server: { allow_ip: '10.0.0.0/8' } })
  for (const path of ['/api/tags', '/v1/models', '/admin/v1/keys', '/auth/v1/me', '/metrics', '/nope', '/ui/']) {
    const answer = await call(rig, 'GET', path, rig.headers)
    t.same([answer.status, answer.code], [403, 'address_not_allowed'], path)
  }
  t.equal((await call(rig, 'GET', '/health', {})).status, 200, 'the probes answer (a load balancer must see it)')
  t.equal(rig.emulator.stats.requests, 0)
  // A reload that lets loopback in applies at once.
  rig.gateway.reload({ ...rig.config, server: { ...rig.config.server, allow_ip: '127.0.0.0/8, ::1' } })
  t.equal((await call(rig, 'GET', '/api/tags', rig.headers)).status, 200)
})

t.test('trusted proxies: the forwarded client is believed from them only', async (t) => {
  const trusted = await startRig(t, {
    server: { trusted_proxies: '127.0.0.1/32, ::1', allow_ip: '203.0.113.0/24' },
  })
  const from = (xff: string) => ({ ...trusted.headers, 'x-forwarded-for': xff })
  const allowed = await call(trusted, 'POST', '/api/generate', from('198.51.100.9, 203.0.113.7'), body)
  t.equal(allowed.status, 200, 'the rightmost untrusted hop is the client: allowed')
  t.equal(trusted.ended.at(-1)!.clientIp, '203.0.113.7', 'the usage row and log see the client behind the proxy')
  t.equal(trusted.emulator.stats.lastHeaders['x-forwarded-for'], undefined, 'the chain is not forwarded to Ollama')
  const spoofed = await call(trusted, 'GET', '/api/tags', from('203.0.113.7, 198.51.100.9'))
  t.same([spoofed.status, spoofed.code], [403, 'address_not_allowed'], 'a client cannot put itself on the left')
  const malformed = await call(trusted, 'GET', '/api/tags', from('203.0.113.7, not-an-address'))
  t.equal(malformed.status, 403, 'a malformed chain falls back to the peer (loopback, not allowed here)')
  const untrusted = await startRig(t, { server: { allow_ip: '127.0.0.1/32' } })
  const ignored = await call(untrusted, 'GET', '/api/tags', { ...untrusted.headers, 'x-forwarded-for': '10.9.9.9' })
  t.equal(ignored.status, 200, 'without trusted proxies the header is ignored')
  t.equal(untrusted.ended.at(-1)!.clientIp, '127.0.0.1')
})
