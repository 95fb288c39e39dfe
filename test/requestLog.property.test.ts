// The per-request log line, written by hand for speed, is exactly the JSON a generic logger would have written for the
// same fields (any strings: quotes, control characters, lone surrogates, U+2028), and no credential ever reaches it:
// requests made with generated credentials and header values leave lines that parse and never hold the secrets.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import type { ExchangeResult } from '../src/proxy/exchange.js'
import { requestLine } from '../src/requestLog.js'
import { holds } from './helpers/fuzz.js'
import { startRig } from './helpers/gateway.js'

const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('"', '\\', '\u2028', '\ud800'))
const count = fc.option(fc.oneof(fc.nat(), fc.constantFrom(NaN, Infinity, -1, 1.5)), { nil: undefined })
const result = fc.record({
  requestId: text,
  time: fc.nat(),
  api: text,
  route: text,
  model: fc.option(text),
  userId: fc.option(fc.nat()),
  username: fc.option(text),
  keyId: fc.option(text),
  backend: fc.option(text),
  status: fc.integer({ min: 0, max: 999 }),
  errorCode: fc.option(text, { nil: undefined }),
  promptTokens: count,
  completionTokens: count,
  clientAborted: fc.boolean(),
  clientIp: text,
  startedAt: fc.double({ min: 0, max: 1e9, noNaN: true }),
  firstByte: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
  duration: fc.double({ min: 0, max: 1e7, noNaN: true }),
})

/** What `logger.info('request', fields)` wrote before: the reference the hand-made line must match. */
function reference(r: ExchangeResult): Record<string, unknown> {
  const fields = {
    level: 'info',
    msg: 'request',
    request_id: r.requestId,
    user_id: r.userId,
    key_id: r.keyId,
    api: r.api,
    route: r.route,
    model: r.model,
    backend: r.backend,
    status: r.status,
    error: r.errorCode,
    prompt_tokens: r.usage?.promptTokens,
    completion_tokens: r.usage?.completionTokens,
    ttfb_ms: r.firstByteAt > 0 ? Math.round((r.firstByteAt - r.startedAt) * 10) / 10 : undefined,
    duration_ms: Math.round((r.endedAt - r.startedAt) * 10) / 10,
    client_ip: r.clientIp,
    aborted: r.clientAborted || undefined,
  }
  return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>
}

t.test('the line is the JSON of its fields, for any values', async (t) => {
  await holds(
    t,
    'request log line is exact JSON',
    fc.property(result, (r) => {
      const exchange = {
        ...r,
        errorCode: r.errorCode as ExchangeResult['errorCode'],
        usage:
          r.promptTokens === undefined && r.completionTokens === undefined
            ? undefined
            : { promptTokens: r.promptTokens, completionTokens: r.completionTokens },
        chunks: 0,
        bytesIn: 0,
        bytesOut: 0,
        dispatchedAt: 0,
        firstByteAt: r.firstByte === undefined ? 0 : r.startedAt + r.firstByte,
        endedAt: r.startedAt + r.duration,
      } as unknown as ExchangeResult
      const line = requestLine(exchange)
      const parsed = JSON.parse(line) as Record<string, unknown>
      const { time, ...rest } = parsed
      return (
        !line.includes('\n') &&
        typeof time === 'string' &&
        !Number.isNaN(Date.parse(time)) &&
        JSON.stringify(rest) === JSON.stringify(reference(exchange))
      )
    }),
    2000,
  )
})

t.test('lines of real requests parse, carry their fields, and never a credential', async (t) => {
  const rig = await startRig(t)
  const secret = fc.string({ unit: 'grapheme-ascii', minLength: 12, maxLength: 40 }).filter((s) => s.trim() === s)
  await holds(
    t,
    'request log holds no credential',
    fc.asyncProperty(
      secret,
      secret,
      fc.constantFrom('authorization', 'x-api-key', 'cookie'),
      fc.string({ maxLength: 30 }),
      async (apiKey, cookie, where, model) => {
        rig.logs.length = 0
        const headers: Record<string, string> = {
          [where]: where === 'authorization' ? `Bearer ${apiKey}` : apiKey,
          cookie: `session=${cookie}`,
        }
        const withKey = { ...rig.headers, 'x-api-key': apiKey, cookie: `session=${cookie}` }
        for (const sent of [headers, withKey]) {
          const ended = rig.nextEnd()
          const response = await request(`${rig.url}/api/generate`, {
            method: 'POST',
            headers: sent,
            body: JSON.stringify({ model, prompt: 'hi', stream: false }),
          })
          await response.body.dump()
          await ended
        }
        const lines = rig.logs.join('').trim().split('\n')
        const requests = lines
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((l) => l.msg === 'request')
        return (
          requests.length === 2 &&
          requests.every((line) => typeof line.request_id === 'string' && line.route === 'generate') &&
          lines.every((line) => !line.includes(apiKey) && !line.includes(cookie) && !line.includes(rig.key))
        )
      },
    ),
    30,
    0.001,
  )
})
