// Property against the real gateway: generated request heads (framing headers in any number and spelling, one or two
// credentials, ordinary headers with odd bytes) sent on a raw socket. Each gets one of three outcomes — refused with
// a coded error, decided by uWS before our code (no byte back), or served — and a served one reached the backend with
// exactly the body the client framed and its ordinary headers unchanged. A head the RFC model says is ambiguous is
// never served.
import fc from 'fast-check'
import t from 'tap'
import { startRig } from '../helpers/gateway.js'
import { holds } from '../helpers/fuzz.js'
import { rawExchange } from '../helpers/rawHttp.js'
import { startRawBackend } from '../helpers/rawBackend.js'
import { mustRefuse } from '../helpers/requestHeadModel.js'

type Line = [string, string]

/**
 * A value as uWS v20.30 hands it to us: it skips bytes ≥ 0x80 along with the whitespace before a value (measured; see
 * docs/http.md), so `x: éz` arrives as `z`. The gateway decides on, and forwards, that.
 */
function uwsView(value: string): string {
  return value.replace(/^[ \t\u0080-\uffff]+/, '').replace(/[ \t]+$/, '')
}

t.test('generated heads: refused, decided by uWS, or served with exactly the framed body', async (t) => {
  const backend = await startRawBackend()
  t.teardown(() => backend.close())
  const rig = await startRig(t, { backends: [{ url: backend.url, name: 'raw' }] })
  const other = rig.addKey({ username: 'other' }).key

  const prompt = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '\n', '"'), maxLength: 40 })
  const framing = fc.array(
    fc.oneof(
      fc.constantFrom<Line>(
        ['Content-Length', 'LEN'],
        ['content-length', 'LEN'],
        ['Content-Length', ' LEN '],
        ['content-length', 'LEN, LEN'],
        ['content-length', '3'],
      ),
      fc.constantFrom<Line>(
        ['Transfer-Encoding', 'chunked'],
        ['transfer-encoding', 'Chunked'],
        ['Transfer-Encoding', 'xchunked'],
        ['Transfer-Encoding', 'chunked, identity'],
        ['TRANSFER-ENCODING', 'gzip'],
      ),
    ),
    { maxLength: 3 },
  )
  const credentials = fc.array(
    fc.constantFrom<Line>(
      ['Authorization', `Bearer ${rig.key}`],
      ['authorization', `bearer ${rig.key}`],
      ['Authorization', `Bearer ${other}`],
      ['X-Api-Key', rig.key],
      ['x-api-key', other],
    ),
    { minLength: 1, maxLength: 3 },
  )
  const ordinary = fc.array(
    fc.tuple(
      fc.constantFrom('x-trace', 'User-Agent', 'x-a', 'Accept'),
      fc.string({ unit: fc.constantFrom('v', ' ', '\t', ',', ';', '\x7f', 'é', '\x0b'), maxLength: 6 }),
    ),
    { maxLength: 3 },
  )
  await holds(
    t,
    'gateway: a head is refused, left to uWS, or served as framed',
    fc.asyncProperty(
      prompt,
      framing,
      credentials,
      ordinary,
      async (text, framingLines, credentialLines, otherLines) => {
        const body = Buffer.from(JSON.stringify({ model: 'llama3.2:3b', prompt: text, stream: false }))
        const lines: Line[] = [...framingLines, ...credentialLines, ...(otherLines as Line[])].map(([n, v]) => [
          n,
          v.replaceAll('LEN', String(body.length)),
        ])
        const chunkedBody = framingLines.some(([n]) => n.toLowerCase() === 'transfer-encoding')
        const payload = chunkedBody
          ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
          : body
        const request = Buffer.concat([
          Buffer.from(
            `POST /api/generate HTTP/1.1\r\nhost: g\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
            'utf8',
          ),
          payload,
        ])
        const before = backend.requests
        const reply = await rawExchange(rig.gateway.port, request, 300)
        const served = backend.requests > before
        const lower = lines.map(([n, v]): Line => [n.toLowerCase(), uwsView(v)])
        if (reply.text === '') return !served
        if (!served) return /\r\nx-parallama-error: [a-z_]+\r\n/.test(reply.text)
        if (mustRefuse(lower)) return false
        // Served: the backend got exactly the body the client framed, and every ordinary header as sent.
        const last = backend.last!
        if (!last.body.equals(body)) return false
        return (otherLines as Line[]).every(([n, v]) => last.head.includes(`\r\n${n.toLowerCase()}: ${uwsView(v)}\r\n`))
      },
    ),
    80,
    0.0002,
  )
})
