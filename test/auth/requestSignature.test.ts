// The signature check (src/auth/requestSignature.ts) without a server: any change to a signed part is refused, the
// skew window both ways, replays, and a full replay cache that refuses rather than forgets.
import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { ReplayCache, SignatureVerifier, bodySha256Hex } from '../../src/auth/requestSignature.js'

const secret = 'pls_test-secret'
const now = 1_764_640_000_000

function signed(method: string, path: string, query: string, body: string, at = now) {
  const timestamp = String(Math.floor(at / 1000))
  const text = `${method}\n${query === '' ? path : `${path}?${query}`}\n${timestamp}\n${createHash('sha256').update(body).digest('hex')}`
  return {
    method,
    path,
    query,
    signatureTimestamp: timestamp,
    signature: createHmac('sha256', secret).update(text).digest('hex'),
  }
}

const verifier = (capacity = 1000, clock = () => now) => new SignatureVerifier(() => 300_000, capacity, clock)

t.test('a signature holds for exactly what was signed', async () => {
  const part = fc.string({ minLength: 1, maxLength: 20 }).map((text) => text.replace(/[\n?]/g, ''))
  fc.assert(
    fc.property(part, part, fc.string(), fc.string(), (path, query, body, other) => {
      const check = verifier()
      const request = signed('POST', `/${path}`, query, body)
      const key = Buffer.from(secret)
      const changedBody = other !== body && check.check(key, request, bodySha256Hex(Buffer.from(other)))?.code
      const changedPath = check.check(key, { ...request, path: `/x${path}` }, bodySha256Hex(Buffer.from(body)))?.code
      const wrongKey = check.check(Buffer.from('pls_other'), request, bodySha256Hex(Buffer.from(body)))?.code
      const good = check.check(key, request, bodySha256Hex(Buffer.from(body)))
      return (
        (changedBody === false || changedBody === 'signature_invalid') &&
        changedPath === 'signature_invalid' &&
        wrongKey === 'signature_invalid' &&
        good === undefined
      )
    }),
    { numRuns: 500 },
  )
})

t.test('the skew window, both ways, and replays within it', async (t) => {
  const check = verifier()
  const key = Buffer.from(secret)
  const empty = bodySha256Hex(undefined)
  t.equal(check.check(key, signed('GET', '/api/tags', '', '', now - 299_000), empty), undefined, 'just inside, late')
  t.equal(check.check(key, signed('GET', '/api/tags', '', '', now + 299_000), empty), undefined, 'just inside, early')
  t.equal(check.check(key, signed('GET', '/api/tags', '', '', now - 301_000), empty)?.code, 'signature_expired')
  t.equal(check.check(key, signed('GET', '/api/tags', '', '', now + 301_000), empty)?.code, 'signature_expired')
  const once = signed('GET', '/api/ps', '', '')
  t.equal(check.check(key, once, empty), undefined)
  t.equal(check.check(key, once, empty)?.code, 'signature_replayed')
  t.equal(check.check(key, { ...once, signature: '' }, empty)?.code, 'signature_missing')
  t.equal(check.check(key, { ...once, signatureTimestamp: '' }, empty)?.code, 'signature_missing')
  t.equal(check.check(key, { ...once, signature: once.signature.toUpperCase() }, empty)?.code, 'signature_invalid')
  t.equal(check.check(key, { ...once, signatureTimestamp: '1.5' }, empty)?.code, 'signature_invalid')
})

t.test(
  'the replay cache: expired entries make room; full of live ones, it refuses (503) rather than forgets',
  async (t) => {
    const cache = new ReplayCache(3)
    t.equal(cache.remember('a', 100, 0), undefined)
    t.equal(cache.remember('b', 200, 0), undefined)
    t.equal(cache.remember('c', 300, 0), undefined)
    t.equal(cache.remember('a', 400, 50)?.code, 'signature_replayed')
    const full = cache.remember('d', 400, 50)
    t.equal(full?.code, 'signature_cache_full')
    t.equal(full?.status, 503)
    t.equal(full?.headers?.['retry-after'], '1')
    t.equal(cache.remember('d', 400, 150), undefined, 'once "a" expired, there is room')
    t.equal(cache.size, 3)
    t.equal(
      cache.remember('a', 500, 250),
      undefined,
      'an expired signature is no replay (its timestamp is refused anyway)',
    )
  },
)
