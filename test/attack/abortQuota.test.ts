// Attack: stream a long reply without a token limit, take most of it, and go away before the final object (which
// carries the counts). The reservation (default estimate + prompt) must not be all the limiter charges: the tokens
// the client received count, as they do in the usage row. (A token bucket here: under a calendar quota the reply is
// capped to what the quota has left, see quotaCap.test.ts.)
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { GatewayError } from '../../src/errors.js'
import { Limiter } from '../../src/limits/limiter.js'
import { RuleSet } from '../../src/limits/rules.js'
import { holds } from '../helpers/fuzz.js'
import { testPrincipal } from '../helpers/principal.js'
import { startRig, type Rig } from '../helpers/gateway.js'

/** Streams a request, counts the lines (native) or events (SSE) received, and aborts after `take` of them. */
async function takeAndAbort(rig: Rig, path: string, body: object, headers: Record<string, string>, take: number) {
  const controller = new AbortController()
  const ended = rig.nextEnd()
  const response = await request(`${rig.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { ...headers, 'x-emulator-tokens': '1500', 'x-emulator-delay-ms': '1' },
    signal: controller.signal,
  })
  const separator = path.startsWith('/v1') ? '\n\n' : '\n'
  let seen = 0
  let text = ''
  try {
    for await (const chunk of response.body) {
      text += chunk.toString()
      const parts = text.split(separator)
      text = parts.pop()!
      seen += parts.length
      if (seen >= take) break
    }
  } finally {
    controller.abort()
  }
  await response.body.dump().catch(() => {})
  return { seen, result: await ended }
}

for (const [path, body] of [
  ['/api/generate', { model: 'llama3.2:3b', prompt: 'tell me a long story' }],
  ['/v1/chat/completions', { model: 'llama3.2:3b', stream: true, messages: [{ role: 'user', content: 'a story' }] }],
] as const) {
  t.test(`${path}: an abort before the counts is charged what was streamed`, async (t) => {
    const rig = await startRig(t)
    const { id, headers } = rig.addKey({ username: 'aborter' })
    rig.gateway.store.limits.set({
      subjectType: 'key',
      subject: id,
      gateway: '*',
      model: '',
      values: { tpd: 700 },
    })
    rig.gateway.authenticator.pollChanges()
    const { seen, result } = await takeAndAbort(rig, path, body, headers, 1000)
    t.ok(seen >= 1000, `the client got ${seen} tokens`)
    t.ok(result.clientAborted, 'the exchange ended by the abort')
    t.ok(result.chunks >= seen, `the usage row's estimate counts the ${result.chunks} lines/events streamed`)
    const next = await request(`${rig.url}${path}`, {
      method: 'POST',
      body: JSON.stringify({ ...body, stream: false }),
      headers,
    })
    const answer = (await next.body.json()) as { code?: string; error?: unknown }
    t.equal(next.statusCode, 429, 'the 700 tokens per day are used up by the 1000 streamed')
    t.match(JSON.stringify(answer), /700 tokens per day/)
  })
}

t.test('limiter: a reply cut short is charged max(reservation, streamed), never less', async (t) => {
  const principal = testPrincipal
  const clock = { now: Date.UTC(2026, 11, 1, 12) }
  const limiter = new Limiter(
    new RuleSet([]),
    () => 0,
    () => clock.now,
  )
  await holds(
    t,
    'aborted streams pay what they took',
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 2000 })), { maxLength: 40 }),
      (quota, requests) => {
        const values = { daily_tokens: quota }
        limiter.replaceRules(
          new RuleSet([{ subjectType: 'key', subject: 'key000000007', gateway: '*', model: '', values }]),
        )
        limiter.startOver()
        let charged = 0
        for (const [estimate, streamed] of requests) {
          const answer = limiter.admit(principal, 'ollama', null, estimate)
          if (answer instanceof GatewayError) {
            if (charged < quota) return false
            continue
          }
          if (charged >= quota) return false
          answer.release(undefined, streamed)
          charged += Math.max(Math.min(estimate, quota), streamed)
        }
        return true
      },
    ),
    2000,
  )
})
