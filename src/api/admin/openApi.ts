// GET /admin/v1/openapi.json: public (like the docs in the repository, it holds no secret and names no user), so that
// tools and the dashboard can read it before logging in; it still passes the address guard and limits.
import type { JsonHandler } from '../jsonRoute.js'
import { openApiDocument } from '../openApi.js'

export function openApiHandlers(): Record<string, JsonHandler> {
  // Made once: the route table does not change while the gateway runs.
  const document = openApiDocument()
  return { openapi: () => ({ status: 200, body: document }) }
}
