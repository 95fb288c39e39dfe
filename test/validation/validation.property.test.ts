// Request validation through the real gateway, on every route with a schema, in both dialects (docs/validation.md):
// (1) a generated valid request passes and reaches the backend byte for byte as sent; (2) the same request with one
// field broken is refused 400 invalid_request naming that field's JSON pointer (OpenAI's `param` too), never a 5xx,
// and never reaches the backend; (3) unknown fields, at the top, in messages and in options, pass.
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { holds } from '../helpers/fuzz.js'
import { startRig, type Rig } from '../helpers/gateway.js'
import { startRawBackend, type RawBackend } from '../helpers/rawBackend.js'
import { broken, pointerOf, routeCases, type RouteCase } from '../helpers/validRequests.js'

/** Keys no schema names (lower case letters only after `x_`: a key folding onto a known field is another matter). */
const unknownKey = fc.stringMatching(/^x_[a-z_]{1,10}$/)
const unknownFields = fc.dictionary(unknownKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })

async function send(rig: Rig, route: RouteCase, body: string) {
  const response = await request(`${rig.url}${route.path}`, {
    method: route.method,
    body,
    headers: { ...rig.headers, 'content-type': 'application/json' },
  })
  const text = await response.body.text()
  return { status: response.statusCode, text, code: response.headers['x-parallama-error'] }
}

/** Sends a body the schema takes and checks it arrived unchanged. */
async function passes(rig: Rig, backend: RawBackend, route: RouteCase, body: string): Promise<void> {
  const before = backend.requests
  const answer = await send(rig, route, body)
  if (answer.status !== 200 || backend.requests !== before + 1) {
    throw new Error(`${route.route} refused a valid body (${answer.status} ${answer.text}): ${body}`)
  }
  if (backend.last!.body.toString('utf8') !== body) {
    throw new Error(`${route.route} changed the body on its way: sent ${body}, got ${backend.last!.body.toString()}`)
  }
}

/** What the refusal names as the bad field, in the route's dialect. */
function namedPointer(route: RouteCase, text: string): { message: string; param?: unknown } {
  const answer = JSON.parse(text)
  if (route.dialect === 'ollama') return { message: answer.error }
  if (route.dialect === 'anthropic') return { message: answer.error.message }
  if (answer.error.type !== 'invalid_request_error') throw new Error(`OpenAI type ${answer.error.type}: ${text}`)
  return { message: answer.error.message, param: answer.error.param }
}

/**
 * The pointer a refusal's message names: the schema's `invalid request: /a/0/b ...`, or the field reader's
 * `"options.top_k" must be ...` (the fields the gateway reads itself, refused before the schema runs).
 */
function pointerNamed(message: string): string | undefined {
  const fromSchema = /^invalid request: (\S+) /.exec(message)?.[1]
  if (fromSchema !== undefined) return fromSchema
  const fromReader = /^(?:[^"]*: )?"([^"]+)" must /.exec(message)?.[1]
  return fromReader === undefined ? undefined : `/${fromReader.replaceAll('.', '/')}`
}

/** OpenAI's spelling of a pointer (errorResponse.ts openAiParam). */
function paramOf(pointer: string): string {
  return pointer
    .slice(1)
    .split('/')
    .map((token, index) => (/^(0|[1-9][0-9]*)$/.test(token) ? `[${token}]` : index === 0 ? token : `.${token}`))
    .join('')
}

t.test('validation through the gateway', async (t) => {
  const backend = await startRawBackend({ final: 'whole' })
  t.teardown(() => backend.close())
  const rig = await startRig(t, { backends: [{ url: backend.url, name: 'raw' }] })
  // Route cases by index, never the cases themselves: a counterexample then prints as a number and the body.

  await holds(
    t,
    'a valid request passes and reaches the backend unchanged',
    fc.asyncProperty(
      fc.nat(routeCases.length - 1).chain((index) => fc.tuple(fc.constant(index), routeCases[index]!.valid)),
      async ([index, body]) => passes(rig, backend, routeCases[index]!, JSON.stringify(body)),
    ),
    300,
    0.01,
  )

  const breakable = routeCases.filter((route) => route.breaks.length > 0)
  let refused = 0
  await holds(
    t,
    'a valid request with one field broken is refused naming that field, and never reaches the backend',
    fc.asyncProperty(
      fc.nat(breakable.length - 1).chain((index) =>
        fc.tuple(
          fc.constant(index),
          breakable[index]!.valid,
          fc.nat(breakable[index]!.breaks.length - 1).chain((at) => {
            const broke = breakable[index]!.breaks[at]!
            return fc.tuple(fc.constant(broke.path), broke.bad)
          }),
        ),
      ),
      async ([index, valid, [path, value]]) => {
        const route = breakable[index]!
        const body = JSON.stringify(broken(valid, path, value))
        const before = backend.requests
        const answer = await send(rig, route, body)
        if (answer.status !== 400 || answer.code !== 'invalid_request') {
          throw new Error(`${route.route}: ${answer.status} ${String(answer.code)} ${answer.text} for ${body}`)
        }
        if (backend.requests !== before) throw new Error(`${route.route}: a refused body reached the backend: ${body}`)
        const expected = pointerOf(path)
        const { message, param } = namedPointer(route, answer.text)
        const named = pointerNamed(message)
        if (named === undefined || (named !== expected && !named.startsWith(`${expected}/`))) {
          throw new Error(`${route.route}: broke ${expected}, the refusal names ${named}: ${message} (${body})`)
        }
        if (route.dialect === 'openai' && param !== paramOf(named)) {
          throw new Error(`${route.route}: param ${String(param)} for ${named}`)
        }
        refused++
      },
    ),
    400,
    0.01,
  )
  t.ok(refused > 0, `${refused} broken bodies refused`)

  await holds(
    t,
    'unknown fields pass at the top, in messages and in options',
    fc.asyncProperty(
      fc
        .nat(routeCases.length - 1)
        .chain((index) => fc.tuple(fc.constant(index), routeCases[index]!.valid, unknownFields, unknownFields)),
      async ([index, valid, top, nested]) => {
        const route = routeCases[index]!
        const body: Record<string, any> = { ...valid, ...top }
        if (Array.isArray(body.messages) && body.messages.length > 0) {
          body.messages = [{ ...body.messages[0], ...nested }, ...body.messages.slice(1)]
        }
        if (body.options && typeof body.options === 'object') body.options = { ...body.options, ...nested }
        await passes(rig, backend, route, JSON.stringify(body))
      },
    ),
    200,
    0.01,
  )
})
