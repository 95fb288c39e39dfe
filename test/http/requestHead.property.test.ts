// Property of the one place that reads request framing and credentials (readHead in src/http/requestSnapshot.ts):
// for any set of header lines — duplicates, case and whitespace variants, lists, control and non-ASCII bytes — either
// the head has exactly one reading (one framing, at most one credential, every forwarded line sent on unchanged) and
// that is what the snapshot says, or it is refused with a coded 400. Checked against a model written from RFC 9112.
import fc from 'fast-check'
import t from 'tap'
import { presentedCredential } from '../../src/auth/credentials.js'
import { readHead } from '../../src/http/requestSnapshot.js'
import { holds } from '../helpers/fuzz.js'
import { dropped, mustRefuse } from '../helpers/requestHeadModel.js'

const framingAndCredentials = ['content-length', 'transfer-encoding', 'authorization', 'x-api-key']
const others = ['user-agent', 'x-request-id', 'cookie', 'host', 'accept', 'x-custom', 'connection', 'content-type']
/** Names as uWS reports them: lower-cased, any bytes the parser let through. */
const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...framingAndCredentials, ...others) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom('a', '-', '_', ' ', '(', '@', 'é', '\x7f', ''), maxLength: 6 }),
  },
)
const value = fc.oneof(
  fc.constantFrom('0', '12', '012', '5', ' 5', '5 ', '\t7', '+5', '-1', '5, 5', '1e3', '0x10', '99999999999999999'),
  fc.constantFrom('chunked', 'CHUNKED', ' chunked ', 'xchunked', 'chunked, identity', 'identity, chunked', 'gzip', ''),
  fc.constantFrom('Bearer k1', 'Bearer k2', 'bearer k1', 'Bearer  k1 ', 'Basic dTpw', 'Bearer', 'k1', ' k1 ', 'k2'),
  fc.string({
    unit: fc.constantFrom('a', ' ', '\t', ',', '\x00', '\x01', '\x1f', '\x7f', 'é', '\u2028', 'k', '1'),
    maxLength: 8,
  }),
)
const headers = fc.array(fc.tuple(name, value), { maxLength: 12 })

t.test('a request head has one reading, or it is refused with a coded 400', async (t) => {
  await holds(
    t,
    'readHead: one framing and credential, or a coded 400',
    fc.property(headers, (lines) => {
      const head = readHead((visit) => {
        for (const [n, v] of lines) visit(n, v)
      })
      const refuse = mustRefuse(lines)
      if (refuse !== (head.refusal !== undefined)) return false
      if (head.refusal) {
        return (
          head.refusal.code === 'invalid_request' &&
          head.refusal.status === 400 &&
          /^ambiguous or malformed request head: .+; the connection is closed$/.test(head.refusal.message) &&
          head.credential === undefined
        )
      }
      const length = lines.find(([n]) => n === 'content-length')?.[1]
      if (head.contentLength !== (length === undefined ? -1 : Number(length.trim()))) return false
      const authorization = lines.find(([n]) => n === 'authorization')?.[1] ?? ''
      const key = lines.find(([n]) => n === 'x-api-key')?.[1] ?? ''
      if (head.credential !== presentedCredential(authorization, key)) return false
      // Every other line goes upstream exactly as it came, in order; none of the credentials or framing does.
      const forwarded = lines.filter(([n]) => !dropped.has(n)).flat()
      return JSON.stringify(head.forwardHeaders) === JSON.stringify(forwarded)
    }),
    5000,
  )
})

t.test('the refusals name what was wrong', async (t) => {
  const refusal = (lines: [string, string][]) =>
    readHead((visit) => {
      for (const [n, v] of lines) visit(n, v)
    }).refusal?.message
  t.match(
    refusal([
      ['content-length', '5'],
      ['content-length', '5'],
    ]),
    /more than one Content-Length/,
  )
  t.match(refusal([['content-length', '5x']]), /not a decimal number/)
  t.match(refusal([['transfer-encoding', 'xchunked']]), /exactly "chunked"/)
  t.match(
    refusal([
      ['transfer-encoding', 'chunked'],
      ['transfer-encoding', 'chunked'],
    ]),
    /more than one Transfer-Encoding/,
  )
  t.match(
    refusal([
      ['transfer-encoding', 'chunked'],
      ['content-length', '5'],
    ]),
    /both Content-Length and Transfer-Encoding/,
  )
  t.match(
    refusal([
      ['authorization', 'Bearer a'],
      ['authorization', 'Bearer a'],
    ]),
    /more than one Authorization/,
  )
  t.match(
    refusal([
      ['x-api-key', 'a'],
      ['x-api-key', 'b'],
    ]),
    /more than one x-api-key/,
  )
  t.match(
    refusal([
      ['authorization', 'Bearer a'],
      ['x-api-key', 'b'],
    ]),
    /present different credentials/,
  )
  t.match(refusal([['x-a', 'a\x7f']]), /header "x-a"/)
  t.equal(
    refusal([
      ['authorization', 'Bearer a'],
      ['x-api-key', 'a'],
    ]),
    undefined,
    'the same credential twice is one',
  )
  t.equal(refusal([['cookie', 'name=é']]), undefined, 'non-ASCII in a header that is not forwarded is allowed')
})
