// The OpenAPI 3.1 document of the admin API, made from the route table: every admin route with a `doc` is one
// operation, its path, permission, parameters and schemas as the table declares them. Served at
// /admin/v1/openapi.json and validated by a test, so that the document is the API and not a description of it.
import { STATUS_CODES } from 'node:http'
import type { RouteAccess } from '../auth/permissions.js'
import { problem } from './admin/commonSchemas.js'
import type { JsonSchema, RouteDoc } from './routeDoc.js'
import { localRoutes, routeId, type LocalRoute } from './routeTable.js'

/** The admin API's version as the document states it (the path's /v1 is its major). */
export const adminApiVersion = '1.0.0'

const problemRef = { $ref: '#/components/schemas/Problem' }

/** The document; built once per call (the table does not change at run time). */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of localRoutes('admin')) {
    if (!route.doc) continue
    const path = openApiPath(route.paths[0]!)
    paths[path] ??= {}
    for (const method of route.methods) {
      // HEAD answers as GET does (RFC 9110 §9.3.2): documented once, under GET.
      if (method !== 'HEAD') paths[path][method.toLowerCase()] = operation(route, route.doc, path)
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Parallama admin API',
      version: adminApiVersion,
      description:
        'Users, API keys, limits, webhooks, usage and backends of a Parallama gateway. See docs/admin-api.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: { Problem: problem },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'an API key (plm_...) or a login access token from /auth/v1/login',
        },
      },
    },
  }
}

/** `/admin/v1/users/:name` -> `/admin/v1/users/{name}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
}

function operation(route: LocalRoute, doc: RouteDoc, path: string): Record<string, unknown> {
  const parameters = [
    ...[...path.matchAll(/\{([^}]+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    })),
    ...queryParameters(doc.query),
    ...(doc.etag && route.methods[0] !== 'GET' ? [ifMatchParameter] : []),
  ]
  return {
    operationId: route.name,
    summary: doc.summary,
    tags: [tagOf(path)],
    'x-permission': route.access,
    ...security(route.access),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: doc.body } } } } : {}),
    responses: responses(doc, route),
  }
}

const ifMatchParameter = {
  name: 'If-Match',
  in: 'header',
  required: false,
  description: 'the ETag last read: the change is made only if the object still has it (412 precondition_failed)',
  schema: { type: 'string' },
}

function queryParameters(query: JsonSchema | undefined) {
  const properties = (query?.properties ?? {}) as Record<string, JsonSchema>
  const required = (query?.required ?? []) as string[]
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
  }))
}

function security(access: RouteAccess) {
  return access === 'public' ? { security: [] } : { security: [{ bearer: [] }] }
}

function responses(doc: RouteDoc, route: LocalRoute): Record<string, unknown> {
  const answers: Record<string, unknown> = {}
  for (const [status, schema] of Object.entries(doc.responses)) {
    const code = Number(status)
    const description = STATUS_CODES[code] ?? `status ${code}`
    const headers = doc.etag && code < 300 ? { headers: { ETag: { schema: { type: 'string' } } } } : {}
    if (schema === null) answers[status] = { description, ...headers }
    else {
      const type = code >= 400 ? 'application/problem+json' : 'application/json'
      answers[status] = { description, ...headers, content: { [type]: { schema } } }
    }
  }
  answers.default = {
    description: errorSummary(route.access),
    content: { 'application/problem+json': { schema: problemRef } },
  }
  return answers
}

/** What other errors a route may answer, by what it needs. */
function errorSummary(access: RouteAccess): string {
  const refusals = [
    ...(access === 'public' ? [] : ['401 without a valid credential']),
    ...(access === 'public' || access === 'authenticated' ? [] : [`403 without ${access}`]),
    '400 for a bad request',
    '429 past a limit',
  ]
  return `an error: ${refusals.join(', ')}; the stable code is \`code\``
}

/** `/admin/v1/users/{name}` -> `users`. */
function tagOf(path: string): string {
  return path.split('/')[3] ?? 'admin'
}

/** The documented schema of a route's answer with `status`, or undefined when none is documented. */
export function documentedResponse(name: string, status: number): JsonSchema | null | undefined {
  const route = localRoutes('admin').find((route) => route.name === name || routeId(route) === name)
  if (!route?.doc) throw new Error(`no documented admin route "${name}"`)
  if (status in route.doc.responses) return route.doc.responses[status]
  return status >= 400 ? problem : undefined
}
