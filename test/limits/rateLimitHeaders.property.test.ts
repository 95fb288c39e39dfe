// Through a real gateway: for generated limits and request sequences over the native, OpenAI and auth routes, every
// answer to a limited caller — 200 or 429 — carries the full rate-limit header set, with values consistent with its
// limit (remaining a whole number from 0 to the limit, resets finite whole seconds), and a 429 a Retry-After too.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { holds } from '../helpers/fuzz.js'
import { startRig } from '../helpers/gateway.js'

const requests = {
  native: {
    path: '/api/generate',
    body: { model: 'llama3.2:3b', prompt: 'hi', stream: false, options: { num_predict: 5 } },
  },
  openai: {
    path: '/v1/chat/completions',
    body: { model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 },
  },
  me: { path: '/auth/v1/me', body: undefined },
} as const

t.test('every answer to a limited caller carries the rate-limit headers, refused or not', async (t) => {
  const rig = await startRig(t)
  let cases = 0
  await holds(
    t,
    'rate-limit headers through the gateway',
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
      fc.array(fc.constantFrom<keyof typeof requests>('native', 'openai', 'me'), {
        minLength: 1,
        maxLength: 7,
      }),
      async (rpm, tpm, sequence) => {
        const { id, headers } = rig.addKey({ username: `limited${++cases}` })
        const values = tpm === undefined ? { rpm } : { rpm, tpm }
        rig.gateway.store.limits.set({ subjectType: 'key', subject: id, gateway: '*', model: '', values })
        rig.gateway.authenticator.pollChanges()
        let sent = 0
        for (const name of sequence) {
          const { path, body } = requests[name]
          const response = await request(`${rig.url}${path}`, {
            method: body === undefined ? 'GET' : 'POST',
            headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          })
          await response.body.dump()
          sent++
          const got = response.headers as Record<string, string | undefined>
          if (response.statusCode !== 200 && response.statusCode !== 429) return false
          // The first request of a fresh key is always admitted by its request limit.
          if (sent === 1 && response.statusCode !== 200) return false
          if (response.statusCode === 429 && !/^\d+$/.test(got['retry-after'] ?? '')) return false
          const remaining = got['x-ratelimit-remaining']
          if (got['x-ratelimit-limit'] !== String(rpm) || !/^\d+$/.test(remaining ?? '') || Number(remaining) > rpm) {
            return false
          }
          if (!/^\d+$/.test(got['x-ratelimit-reset'] ?? '')) return false
          if (got['x-ratelimit-limit-requests'] !== String(rpm)) return false
          if (!/^(\d+m)?\d+s$/.test(got['x-ratelimit-reset-requests'] ?? '')) return false
          if (tpm !== undefined) {
            const tokensLeft = got['x-ratelimit-remaining-tokens']
            if (got['x-ratelimit-limit-tokens'] !== String(tpm) || !/^\d+$/.test(tokensLeft ?? '')) return false
            if (Number(tokensLeft) > tpm) return false
          }
          const policy = `"rpm";q=${rpm};w=60${tpm === undefined ? '' : `, "tpm";q=${tpm};w=60`}`
          if (got['ratelimit-policy'] !== policy) return false
          const items = (got['ratelimit'] ?? '').split(', ')
          if (items.length !== (tpm === undefined ? 1 : 2)) return false
          if (!items.every((item) => /^"(rpm|tpm)";r=\d+;t=\d+$/.test(item))) return false
        }
        return true
      },
    ),
    60,
    0.002,
  )
})
