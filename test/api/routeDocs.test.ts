// The route list in docs/auth.md is the route table's: regenerated and formatted, the file does not change.
import { readFileSync } from 'node:fs'
import { format, resolveConfig } from 'prettier'
import t from 'tap'
import { withRouteDocs } from '../../src/api/routeDocs.js'
import { routeId, routeTable } from '../../src/api/routeTable.js'

t.test('docs/auth.md lists every route as the route table declares it', async (t) => {
  const file = 'docs/auth.md'
  const text = readFileSync(file, 'utf8')
  const expected = await format(withRouteDocs(text), { ...(await resolveConfig(file)), filepath: file })
  t.equal(text, expected, 'stale route list: run npm run docs:routes')
  for (const route of routeTable) t.match(text, `| \`${routeId(route)}\``, routeId(route))
})
