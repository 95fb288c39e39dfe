// Walks the one route table against a running gateway: every declared route answers on each of its paths and methods
// with its permission enforced (a credential without it gets 403, a public route asks for none, an authenticated one
// for any), every other method on its paths gets 405 with Allow, and an unknown path under each API's prefix gets a
// 404 in that API's dialect.
import { hash } from '@node-rs/argon2'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { rolePermissions, type Permission } from '../../src/auth/permissions.js'
import type { Dialect } from '../../src/http/errorResponse.js'
import type { TemplatedApp } from '../../native/uws.js'
import type { JsonRouteContext } from '../../src/api/jsonRoute.js'
import { mountLocalRoutes } from '../../src/api/routes.js'
import { apiPrefixes, routeId, routeTable, tokenRoutes, type Route } from '../../src/api/routeTable.js'
import { startRig, type Rig } from '../helpers/gateway.js'

const everyMethod = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** A body each route accepts (the rest send none), so that an allowed request is answered on its merits. */
const bodies: Record<string, unknown> = {
  'ollama.generate': { model: 'llama3.2:3b', prompt: 'x', stream: false },
  'ollama.chat': { model: 'llama3.2:3b', messages: [], stream: false },
  'ollama.embed': { model: 'nomic-embed-text', input: 'x' },
  'ollama.embeddings': { model: 'nomic-embed-text', prompt: 'x' },
  'ollama.show': { model: 'llama3.2:3b' },
  'ollama.pull': { model: 'tiny:1b', stream: false },
  'ollama.push': { model: 'llama3.2:3b', stream: false },
  'ollama.create': { model: 'mine:1', from: 'llama3.2:3b', stream: false },
  'ollama.copy': { source: 'llama3.2:3b', destination: 'copy:1' },
  'ollama.delete': { model: 'copy:1' },
  'openai.chat_completions': { model: 'llama3.2:3b', messages: [] },
  'openai.completions': { model: 'llama3.2:3b', prompt: 'x' },
  'openai.embeddings': { model: 'nomic-embed-text', input: 'x' },
  'openai.responses': { model: 'llama3.2:3b', input: 'x' },
  'openai.messages': { model: 'llama3.2:3b', max_tokens: 5, messages: [] },
  'auth.login': { username: 'walker', password: 'walker password' },
  'auth.refresh': { refresh_token: 'plr_x' },
  'auth.logout': { refresh_token: 'plr_x' },
  'auth.keys_create': { name: 'walked' },
}

/** A path template with its parameters filled in. */
function concrete(path: string): string {
  return path
    .replace(':digest', `sha256:${'a'.repeat(64)}`)
    .replace(':id', 'nosuchkey')
    .replace(/\*$/, 'llama3.2:3b')
}

async function send(rig: Rig, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await request(`${rig.url}${path}`, {
    method,
    body: body === undefined || method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(body),
    headers,
  })
  const text = await response.body.text()
  const code = response.headers['x-parallama-error']
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    code: code === undefined ? undefined : String(code),
  }
}

/** The error is in the dialect's shape (a HEAD answer has no body to look at). */
function inDialect(t: Test, dialect: Dialect, answer: Awaited<ReturnType<typeof send>>, what: string): void {
  if (dialect === 'problem') t.match(answer.headers['content-type'], /^application\/problem\+json/, `${what}: problem`)
  if (answer.text === '') return
  const body = JSON.parse(answer.text)
  if (dialect === 'problem') t.match(body, { type: /^urn:parallama:error:/, status: answer.status }, what)
  if (dialect === 'ollama') t.match(body, { error: String, code: answer.code }, what)
  if (dialect === 'openai') t.match(body, { error: { message: String, type: String } }, what)
  if (dialect === 'anthropic') t.match(body, { type: 'error', error: { type: String } }, what)
}

/** A role whose credential lacks the permission, if there is one (list_models and view_own_usage: every role). */
function roleWithout(permission: Permission) {
  return (['readonly', 'user', 'admin'] as const).find((role) => !rolePermissions[role].has(permission))
}

/** Every path a route answers on (the deprecated ones too), with its dialect. */
function pathsOf(route: Route): string[] {
  return [...route.paths, ...(route.deprecated?.paths ?? [])]
}

t.test('the derived tables: one entry per route, names unique, token routes are proxied', async (t) => {
  const ids = routeTable.map(routeId)
  t.equal(new Set(ids).size, ids.length, 'every <api>.<name> is declared once')
  const paths = routeTable.flatMap((route) =>
    pathsOf(route).flatMap((path) => route.methods.map((m) => `${m} ${path}`)),
  )
  t.equal(new Set(paths).size, paths.length, 'no method and path is declared twice')
  t.same([...tokenRoutes].sort(), [
    'ollama.chat',
    'ollama.embed',
    'ollama.embeddings',
    'ollama.generate',
    'openai.chat_completions',
    'openai.completions',
    'openai.embeddings',
    'openai.messages',
    'openai.responses',
  ])
})

t.test('every route, path and method: answered, its permission enforced; other methods 405 with Allow', async (t) => {
  const rig = await startRig(t)
  rig.gateway.store.users.add({ username: 'walker', role: 'user', passwordHash: await hash('walker password') })
  const keys = {
    admin: rig.headers,
    user: rig.addKey({ role: 'user', username: 'walk-user' }).headers,
    readonly: rig.addKey({ role: 'readonly', username: 'walk-readonly' }).headers,
  }
  // The methods each path answers (a path may carry several routes: GET and POST /auth/v1/keys).
  const methodsAt = new Map<string, { methods: Set<string>; dialect: Dialect }>()
  for (const route of routeTable) {
    for (const path of pathsOf(route)) {
      const entry = methodsAt.get(path) ?? { methods: new Set<string>(), dialect: route.dialect }
      for (const method of route.methods) entry.methods.add(method)
      methodsAt.set(path, entry)
    }
  }
  for (const route of routeTable) {
    const id = routeId(route)
    const body = bodies[id]
    for (const path of pathsOf(route).map(concrete)) {
      for (const method of route.methods) {
        const what = `${id}: ${method} ${path}`
        const allowed = await send(rig, method, path, route.access === 'public' ? {} : keys.admin, body)
        t.notOk(
          ['not_found', 'method_not_allowed', 'permission_denied', 'missing_credential'].includes(allowed.code ?? ''),
          `${what}: answered (${allowed.status} ${allowed.code ?? ''})`,
        )
        if (route.access === 'public') continue
        const anonymous = await send(rig, method, path, {}, body)
        t.equal(anonymous.code, 'missing_credential', `${what}: asks for a credential`)
        t.equal(anonymous.status, 401)
        if (route.access === 'authenticated') continue
        const role = roleWithout(route.access)
        if (!role) continue
        const refused = await send(rig, method, path, keys[role], body)
        t.equal(refused.status, 403, `${what}: ${role} lacks ${route.access}`)
        t.equal(refused.code, 'permission_denied')
        inDialect(t, route.dialect, refused, what)
      }
    }
  }
  for (const [template, { methods, dialect }] of methodsAt) {
    const path = concrete(template)
    for (const method of everyMethod.filter((method) => !methods.has(method))) {
      const answer = await send(rig, method, path, keys.admin)
      t.equal(answer.status, 405, `${method} ${path}: 405`)
      t.same(answer.headers.allow?.toString().split(', ').sort(), [...methods].sort(), `${method} ${path}: Allow`)
      inDialect(t, dialect, answer, `${method} ${path}`)
    }
  }
})

t.test('an unknown path under each API prefix: 404 in that API’s dialect', async (t) => {
  const rig = await startRig(t)
  const tries = apiPrefixes.flatMap(({ prefix, dialect }) => [
    { path: `${prefix}/no-such-route`, dialect },
    { path: `${prefix}/no/such/route`, dialect },
  ])
  tries.push(
    { path: '/auth/v1/nope', dialect: 'problem' },
    { path: '/auth', dialect: 'problem' },
    { path: '/admin/v1/nope', dialect: 'problem' },
    { path: '/admin/v2/usage', dialect: 'problem' },
    { path: '/admin', dialect: 'problem' },
    { path: '/ollama/v1/nope', dialect: 'ollama' },
    { path: '/openai/v1/nope/deeper', dialect: 'openai' },
  )
  for (const { path, dialect } of tries) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const answer = await send(rig, method, path, rig.headers)
      t.equal(answer.status, 404, `${method} ${path}: 404`)
      t.equal(answer.code, 'not_found')
      inDialect(t, dialect, answer, `${method} ${path}`)
    }
  }
})

t.test('a declared route without a handler, or a handler without a route, stops start-up', async (t) => {
  const mounted: string[] = []
  const record = (path: string) => void mounted.push(path)
  const app = { get: record, head: record, post: record, del: record, any: record } as unknown as TemplatedApp
  const context = { limits: { admitAddress: () => undefined } } as unknown as JsonRouteContext
  const handler = () => ({ status: 200, body: {} })
  t.throws(() => mountLocalRoutes(app, 'admin', context, { usage: handler }), /admin\.usage_requests has no handler/)
  t.throws(
    () =>
      mountLocalRoutes(app, 'admin', context, {
        usage: handler,
        usage_requests: handler,
        queue: handler,
        overview: handler,
        usage_export: handler,
      }),
    /admin\.usage_export has no route/,
  )
  mounted.length = 0
  mountLocalRoutes(app, 'admin', context, {
    usage: handler,
    usage_requests: handler,
    queue: handler,
    overview: handler,
  })
  t.same(
    new Set(mounted),
    new Set(['/admin/v1/usage', '/admin/v1/usage/requests', '/admin/v1/queue', '/admin/v1/overview']),
    'mounted at the declared paths',
  )
})
