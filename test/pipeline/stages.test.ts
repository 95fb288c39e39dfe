// The request path's stages: a request meets them in the declared order (stageOrder), and every way a request can
// end — refused at any stage, left by its client mid-body, failed upstream, answered — yields exactly one result whose
// fields agree with what the client saw.
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { stageOrder, type StageName } from '../../src/api/pipeline.js'
import { GatewayError } from '../../src/errors.js'
import type { ExchangeResult } from '../../src/proxy/exchange.js'
import type { StageSet } from '../../src/server.js'
import { holds } from '../helpers/fuzz.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const model = 'llama3.2:3b'

/** The four ways a generation goes: native or OpenAI, streamed or whole. */
const paths = [
  { api: 'ollama', path: '/api/chat', stream: false },
  { api: 'ollama', path: '/api/chat', stream: true },
  { api: 'openai', path: '/v1/chat/completions', stream: false },
  { api: 'openai', path: '/v1/chat/completions', stream: true },
] as const

function bodyFor(stream: boolean): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream })
}

/** Wraps every stage: records its name when it runs, and refuses when told to (one stage at a time). */
function instrumented(trace: StageName[], refuseAt: () => StageName | undefined) {
  const refusing = (stage: StageName, error: GatewayError) => (refuseAt() === stage ? error : undefined)
  return (built: StageSet): StageSet => ({
    ...built,
    addressGuard: (address, api) => {
      trace.push('addressGuard')
      return refusing('addressGuard', new GatewayError('rate_limit_exceeded')) ?? built.addressGuard(address, api)
    },
    authenticate: (access, credential) => {
      trace.push('authenticate')
      return refusing('authenticate', new GatewayError('invalid_api_key')) ?? built.authenticate(access, credential)
    },
    readFields: (read, body) => {
      trace.push('readFields')
      return refusing('readFields', new GatewayError('invalid_request')) ?? built.readFields(read, body)
    },
    authorize: (principal, fields) => {
      trace.push('authorize')
      return refusing('authorize', new GatewayError('model_not_allowed')) ?? built.authorize(principal, fields)
    },
    limits: (principal, api, name, estimate, quotas) => {
      // A refusal charged to a known caller asks the limits too (quotas false): not the request's own admission.
      if (quotas !== false) trace.push('limits')
      const refused = quotas !== false ? refusing('limits', new GatewayError('rate_limit_exceeded')) : undefined
      return refused ?? built.limits(principal, api, name, estimate, quotas)
    },
    plugins: (state, route, body, authorize) => {
      trace.push('plugins')
      const refused = refusing('plugins', new GatewayError('invalid_request', 'a plugin refused it'))
      if (refused) return Promise.resolve({ kind: 'refuse' as const, error: refused })
      return built.plugins?.(state, route, body, authorize)
    },
    // The cache slot (absent unless cache.enabled): it runs where a body was collected, after the plugins.
    cache: (state, route) => {
      trace.push('cache')
      return built.cache?.(state, route)
    },
    // Inference routes: the schedule stage's grant is their route (it refuses with no_backend when none can serve).
    schedule: (state, inputTokens, next) => {
      trace.push('schedule')
      if (refuseAt() === 'schedule') return next.refused(new GatewayError('no_backend'), true)
      built.schedule!(state, inputTokens, next)
    },
    route: (skip, model) => {
      trace.push('route')
      return refuseAt() === 'route' ? undefined : built.route(skip, model)
    },
    responseChunk: () => {
      if (trace.at(-1) !== 'responseTaps') trace.push('responseTaps')
    },
    finish: {
      ...built.finish,
      hook: (result) => {
        trace.push('finish')
        built.finish.hook?.(result)
      },
    },
  })
}

async function resultFor(rig: Rig, requestId: string): Promise<ExchangeResult> {
  for (;;) {
    const found = rig.ended.find((result) => result.requestId === requestId)
    if (found) return found
    await rig.nextEnd()
  }
}

t.test('a request meets the stages in their declared order', async (t) => {
  const trace: StageName[] = []
  const rig = await startRig(t, {}, {}, {}, { stages: instrumented(trace, () => undefined) })
  t.same(
    stageOrder,
    [
      'addressGuard',
      'authenticate',
      'readFields',
      'authorize',
      'limits',
      'plugins',
      'cache',
      'schedule',
      'route',
      'forward',
      'responseTaps',
      'finish',
    ],
    'the order as docs/development.md lists it',
  )
  for (const { path, stream } of paths) {
    trace.length = 0
    const response = await request(`${rig.url}${path}`, { method: 'POST', headers: rig.headers, body: bodyFor(stream) })
    await response.body.text()
    await resultFor(rig, response.headers['x-request-id'] as string)
    // Forward leaves no trace of its own (it ran: the response came from the backend); the grant is the route.
    t.same(
      trace,
      stageOrder.filter((stage) => stage !== 'route' && stage !== 'forward'),
      `${path} stream=${stream}`,
    )
  }
  trace.length = 0
  const tags = await request(`${rig.url}/api/tags`, { headers: rig.headers })
  await tags.body.text()
  await resultFor(rig, tags.headers['x-request-id'] as string)
  t.same(
    trace,
    ['addressGuard', 'authenticate', 'limits', 'plugins', 'route', 'responseTaps', 'finish'],
    'a route without a body skips what reads and checks one, in the same order',
  )
})

const refusals = ['addressGuard', 'authenticate', 'readFields', 'authorize', 'limits', 'plugins', 'schedule'] as const
const endings = [...refusals, 'upstream error', 'client gone mid-body', 'answered'] as const
type Ending = (typeof endings)[number]

/** Sends one request that ends as `ending`; returns what the client saw (status 0: it left before an answer). */
async function send(
  rig: Rig,
  requestId: string,
  route: (typeof paths)[number],
  ending: Ending,
): Promise<{ status: number; code: string | undefined }> {
  const body = bodyFor(route.stream)
  if (ending === 'client gone mid-body') {
    const socket = net.connect(Number(new URL(rig.url).port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(
      `POST ${route.path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${rig.headers.authorization}\r\n` +
        `X-Request-Id: ${requestId}\r\nContent-Type: application/json\r\nContent-Length: ${body.length + 100}\r\n\r\n${body}`,
    )
    // Gone once the gateway has the head (it answers nothing before the body is whole).
    await sleep(100)
    socket.destroy()
    return { status: 0, code: undefined }
  }
  const headers: Record<string, string> = { ...rig.headers, 'x-request-id': requestId }
  if (ending === 'upstream error') headers['x-emulator-fault'] = 'reset'
  const response = await request(`${rig.url}${route.path}`, { method: 'POST', headers, body })
  await response.body.text()
  return { status: response.statusCode, code: response.headers['x-parallama-error'] as string | undefined }
}

t.test('every ending of a request yields exactly one result that agrees with the answer', async (t) => {
  const trace: StageName[] = []
  let refuseAt: StageName | undefined
  const rig = await startRig(t, {}, {}, {}, { stages: instrumented(trace, () => refuseAt) })
  const sent: string[] = []
  let cases = 0
  await holds(
    t,
    'one consistent result per request',
    fc.asyncProperty(fc.constantFrom(...paths), fc.constantFrom(...endings), async (route, ending) => {
      const requestId = `case-${++cases}`
      sent.push(requestId)
      refuseAt = (refusals as readonly string[]).includes(ending) ? (ending as StageName) : undefined
      const seen = await send(rig, requestId, route, ending)
      const result = await resultFor(rig, requestId)
      refuseAt = undefined
      const refusedAt = refusals.indexOf(ending as (typeof refusals)[number])
      const forwarded = ending === 'upstream error' || ending === 'answered'
      if (result.status !== seen.status)
        throw new Error(`${ending}: status ${result.status}, client saw ${seen.status}`)
      if (result.errorCode !== seen.code)
        throw new Error(`${ending}: code ${result.errorCode}, client saw ${seen.code}`)
      if (result.api !== route.api) throw new Error(`${ending}: api ${result.api}`)
      if ((result.backend !== null) !== forwarded) throw new Error(`${ending}: backend ${result.backend}`)
      if (result.dispatchedAt > 0 !== forwarded) throw new Error(`${ending}: dispatchedAt ${result.dispatchedAt}`)
      if (result.firstByteAt > 0 !== (ending === 'answered')) throw new Error(`${ending}: firstByteAt`)
      if (result.clientAborted !== (ending === 'client gone mid-body')) throw new Error(`${ending}: clientAborted`)
      const known = ending === 'client gone mid-body' || forwarded || refusedAt > refusals.indexOf('authenticate')
      if ((result.userId !== null) !== known) throw new Error(`${ending}: userId ${result.userId}`)
      const named = forwarded || refusedAt > refusals.indexOf('readFields')
      if ((result.model === model) !== named) throw new Error(`${ending}: model ${result.model}`)
      if ((result.usage !== undefined) !== (ending === 'answered')) throw new Error(`${ending}: usage`)
      if (result.endedAt < result.startedAt) throw new Error(`${ending}: ended before it started`)
    }),
    40,
    0.01,
  )
  // One more request, answered after all the others ended: by then, a second result of any of them would be here too.
  const last = await request(`${rig.url}/api/version`, { headers: { ...rig.headers, 'x-request-id': 'last' } })
  await last.body.text()
  await resultFor(rig, 'last')
  for (const requestId of sent) {
    t.equal(rig.ended.filter((result) => result.requestId === requestId).length, 1, `${requestId}: one result`)
  }
})
