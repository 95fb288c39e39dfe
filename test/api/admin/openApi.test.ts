// The admin API's OpenAPI document is valid OpenAPI 3.1 (checked by a real validator), covers every documented admin
// route of the table, is what /admin/v1/openapi.json serves, and every schema in it compiles.
import { Validator } from '@seriousme/openapi-schema-validator'
import t from 'tap'
import { openApiDocument, openApiPath } from '../../../src/api/openApi.js'
import { localRoutes } from '../../../src/api/routeTable.js'
import { startRig } from '../../helpers/gateway.js'
import { expectMatches } from '../../helpers/expectMatches.js'

t.test('the document is valid OpenAPI 3.1', async (t) => {
  const validator = new Validator()
  const result = await validator.validate(openApiDocument())
  t.same(result.errors ?? [], [], 'no validation errors')
  t.ok(result.valid)
  t.equal(validator.version, '3.1')
})

t.test('every admin route is documented, each method once', async (t) => {
  const document = openApiDocument() as { paths: Record<string, Record<string, { operationId: string }>> }
  for (const route of localRoutes('admin')) {
    t.ok(route.doc, `${route.name} has a doc`)
    const operations = document.paths[openApiPath(route.paths[0]!)]
    for (const method of route.methods.filter((method) => method !== 'HEAD')) {
      t.equal(operations?.[method.toLowerCase()]?.operationId, route.name, `${method} ${route.paths[0]}`)
    }
  }
})

t.test('served at /admin/v1/openapi.json without a credential, and matching its own schema', async (t) => {
  const rig = await startRig(t)
  const response = await fetch(`${rig.url}/admin/v1/openapi.json`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  const body: unknown = await response.json()
  t.same(body, openApiDocument())
  expectMatches('openapi', 200, body)
  const queue = await fetch(`${rig.url}/admin/v1/queue`, { headers: rig.headers })
  expectMatches('admin.queue', 200, await queue.json())
  const denied = await fetch(`${rig.url}/admin/v1/usage?since=bogus`, { headers: rig.headers })
  t.equal(denied.status, 400)
  expectMatches('usage', 400, await denied.json())
  t.throws(() => expectMatches('queue', 200, { models: 'none' }), /does not match/, 'a wrong shape is caught')
})
