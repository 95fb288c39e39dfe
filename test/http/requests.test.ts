// What the gateway accepts and refuses before anything reaches Ollama, and what it forwards when it does.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { request } from 'undici'
import { startRig, type Rig } from '../helpers/gateway.js'

async function call(
  rig: Rig,
  method: string,
  path: string,
  options: { body?: any; headers?: Record<string, string> } = {},
) {
  const response = await request(`${rig.url}${path}`, {
    method: method as 'GET',
    body: options.body,
    headers: { ...rig.headers, ...options.headers },
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

t.test('a body over limits.max_body_bytes: 413, and the upstream never sees it', async (t) => {
  const rig = await startRig(t, { limits: { max_body_bytes: 2048 } })
  const big = JSON.stringify({ model: 'llama3.2:3b', prompt: 'x'.repeat(4000) })
  const declared = await call(rig, 'POST', '/api/generate', { body: big })
  t.equal(declared.status, 413)
  t.match(declared.json(), { code: 'body_too_large', error: /larger than the limit of 2048 bytes/ })
  const chunked = await call(rig, 'POST', '/api/chat', {
    body: Readable.from([Buffer.from(big.slice(0, 1500)), Buffer.from(big.slice(1500))]),
  })
  t.equal(chunked.status, 413, 'also without a declared length')
  t.equal(rig.emulator.stats.requests, 0, 'nothing reached the emulator')
  const small = await call(rig, 'POST', '/api/generate', {
    body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'hi', stream: false }),
  })
  t.equal(small.status, 200, 'a body under the cap passes')
})

t.test('bodies the gateway cannot use: 400 in Ollama shape, nothing forwarded', async (t) => {
  const rig = await startRig(t)
  const cases: [string, string, string, RegExp][] = [
    ['/api/generate', '{"model": "llama3.2:3b", "prompt": ', 'invalid_json', /not valid JSON/],
    ['/api/generate', '[1, 2]', 'invalid_json', /must be a JSON object/],
    ['/api/generate', '', 'invalid_request', /missing request body/],
    ['/api/chat', '{"messages": []}', 'invalid_request', /model is required/],
    ['/api/embed', '{"model": 42}', 'invalid_request', /model is required/],
    ['/api/generate', '{"model": "llama3.2:3b", "stream": "yes"}', 'invalid_request', /"stream" must be true or false/],
    ['/api/copy', '{"source": "llama3.2:3b"}', 'invalid_request', /"destination" is required/],
    ['/api/pull', '{}', 'invalid_request', /model is required/],
  ]
  for (const [path, body, code, message] of cases) {
    const response = await call(rig, 'POST', path, { body })
    t.equal(response.status, 400, `${path} ${body}`)
    t.match(response.json(), { error: message, code })
  }
  const legacyName = await call(rig, 'POST', '/api/show', { body: '{"name": "llama3.2:3b"}' })
  t.equal(legacyName.status, 200, 'older clients may say name instead of model')
  t.equal(rig.emulator.stats.requests, 1, 'only the valid request was forwarded')
})

t.test('unknown paths: 404; known paths with the wrong method: 405 with Allow', async (t) => {
  const rig = await startRig(t)
  const missing = await call(rig, 'GET', '/api/nothing')
  t.equal(missing.status, 404)
  t.same(missing.json(), { error: 'no route for GET /api/nothing', code: 'not_found' })
  const wrong = await call(rig, 'GET', '/api/generate')
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.allow, 'POST')
  t.equal(wrong.json().code, 'method_not_allowed')
  const wrongWithBody = await call(rig, 'PUT', '/api/tags', { body: '{}' })
  t.equal(wrongWithBody.status, 405)
  t.equal(wrongWithBody.headers.allow, 'GET, HEAD')
})

t.test('the heartbeat, HEAD, and the prefixed mounts answer like /api', async (t) => {
  const rig = await startRig(t)
  const root = await call(rig, 'GET', '/')
  t.equal(root.text, 'Ollama is running')
  const head = await call(rig, 'HEAD', '/')
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], '17', 'HEAD reports the length of the GET body')
  t.equal(head.text, '')
  for (const prefix of ['/api', '/ollama/v1/api', '/ollama/v1']) {
    const version = await call(rig, 'GET', `${prefix}/version`)
    t.same(version.json(), { version: '0.12.6' }, `${prefix}/version`)
    const tags = await call(rig, 'GET', `${prefix}/tags`)
    t.equal(tags.json().models.length, 3, `${prefix}/tags`)
  }
  t.equal((await call(rig, 'GET', '/ollama/v1')).text, 'Ollama is running', 'prefixed heartbeat')
})

t.test('model management: copy, delete, show pass through with their statuses', async (t) => {
  const rig = await startRig(t)
  const copied = await call(rig, 'POST', '/api/copy', { body: '{"source": "llama3.2:3b", "destination": "mine:1"}' })
  t.equal(copied.status, 200)
  t.equal(copied.text, '')
  t.equal((await call(rig, 'POST', '/api/copy', { body: '{"source": "nope:1", "destination": "x:1"}' })).status, 404)
  t.equal((await call(rig, 'DELETE', '/api/delete', { body: '{"model": "mine:1"}' })).status, 200)
  const gone = await call(rig, 'DELETE', '/api/delete', { body: '{"model": "mine:1"}' })
  t.equal(gone.status, 404)
  t.match(gone.json(), { error: /not found/ })
})

t.test('blob uploads stream through; digests are checked', async (t) => {
  const rig = await startRig(t)
  const blob = Buffer.alloc(3 * 1024 * 1024, 7)
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
  t.equal((await call(rig, 'HEAD', `/api/blobs/${digest}`)).status, 404, 'not there yet')
  // A body streamed in pieces, larger than limits.max_body_bytes would allow for JSON.
  const pieces = Readable.from(
    (function* () {
      for (let at = 0; at < blob.length; at += 65536) yield blob.subarray(at, at + 65536)
    })(),
  )
  const upload = await call(rig, 'POST', `/api/blobs/${digest}`, { body: pieces })
  t.equal(upload.status, 201)
  t.equal((await call(rig, 'HEAD', `/api/blobs/${digest}`)).status, 200, 'stored')
  const mismatch = await call(rig, 'POST', `/api/blobs/sha256:${'0'.repeat(64)}`, { body: Buffer.from('other') })
  t.equal(mismatch.status, 400)
  t.match(mismatch.json(), { error: /digest mismatch/ })
  const malformed = await call(rig, 'POST', '/api/blobs/sha256:..%2F..%2Fetc', { body: Buffer.from('x') })
  t.equal(malformed.status, 400)
  t.match(malformed.json(), { code: 'invalid_request', error: /invalid digest/ })
})

t.test('blob uploads larger than the body cap still stream', async (t) => {
  const rig = await startRig(t, { limits: { max_body_bytes: 4096 } })
  const blob = Buffer.alloc(1024 * 1024, 1)
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
  t.equal((await call(rig, 'POST', `/api/blobs/${digest}`, { body: blob })).status, 201)
})

t.test('X-Request-Id: kept when sane, replaced when not, always forwarded; credentials never forwarded', async (t) => {
  const rig = await startRig(t)
  const kept = await call(rig, 'GET', '/api/tags', {
    headers: {
      'x-request-id': 'trace-123.abc',
      // The same credential in both headers (two different ones are refused: docs/http.md).
      'x-api-key': rig.key,
      cookie: 'session=secret',
      'user-agent': 'ollama-js/0.6',
    },
  })
  t.equal(kept.headers['x-request-id'], 'trace-123.abc')
  const seen = rig.emulator.stats.lastHeaders
  t.equal(seen['x-request-id'], 'trace-123.abc', 'forwarded upstream')
  t.equal(seen['user-agent'], 'ollama-js/0.6', 'end-to-end headers forwarded')
  t.notOk(seen.authorization, 'Authorization not forwarded')
  t.notOk(seen['x-api-key'], 'x-api-key not forwarded')
  t.notOk(seen.cookie, 'cookies not forwarded')

  const replaced = await call(rig, 'GET', '/api/tags', { headers: { 'x-request-id': 'bad id with spaces <script>' } })
  t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'an unsafe id is replaced')
  t.equal(rig.emulator.stats.lastHeaders['x-request-id'], replaced.headers['x-request-id'])
  const generated = await call(rig, 'GET', '/nowhere')
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'errors carry one too')
})

t.test('header blocks past 4 KiB are accepted up to server.max_header_bytes, and refused past it', async (t) => {
  const rig = await startRig(t)
  const response = await call(rig, 'GET', '/api/version', { headers: { 'x-long': 'a'.repeat(9000) } })
  t.equal(response.status, 200)
  const tooLong = await call(rig, 'GET', '/api/version', { headers: { 'x-long': 'a'.repeat(20000) } })
  t.equal(tooLong.status, 431)
  t.equal(tooLong.headers['x-parallama-error'], 'headers_too_large', "the gateway's refusal, not the backend's")
  t.equal(rig.emulator.stats.requests, 1, 'the oversized request was not forwarded')
})
