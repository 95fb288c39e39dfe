// The in-memory list pages of the admin API: walking next_cursor from the first page yields every item once, in order,
// for any list and limit; a list that changes between two pages neither repeats nor skips the items that stayed; a
// cursor or limit the list did not give is a 400, never an exception.
import fc from 'fast-check'
import t from 'tap'
import { listPage } from '../../src/api/admin/listPage.js'
import { GatewayError } from '../../src/errors.js'

const sortedKeys = fc.uniqueArray(fc.string({ unit: 'grapheme' }), { maxLength: 40 }).map((keys) => keys.sort())

function walk(keys: string[], limit: number): string[] {
  const seen: string[] = []
  let cursor: string | null = null
  for (;;) {
    const query: URLSearchParams = new URLSearchParams({ limit: String(limit), ...(cursor === null ? {} : { cursor }) })
    const page = listPage(keys, (key) => key, query)
    if (page instanceof GatewayError) throw page
    seen.push(...page.items)
    if (page.next_cursor === null) return seen
    cursor = page.next_cursor
  }
}

t.test('the pages together are the list', async () => {
  fc.assert(
    fc.property(sortedKeys, fc.integer({ min: 1, max: 500 }), (keys, limit) => {
      return JSON.stringify(walk(keys, limit)) === JSON.stringify(keys)
    }),
  )
})

t.test('items that stay are neither repeated nor skipped when others come and go between pages', async () => {
  fc.assert(
    fc.property(sortedKeys, sortedKeys, fc.integer({ min: 1, max: 10 }), (before, after, limit) => {
      const first = listPage(before, (key) => key, new URLSearchParams({ limit: String(limit) }))
      if (first instanceof GatewayError || first.next_cursor === null) return true
      const rest = listPage(after, (key) => key, new URLSearchParams({ limit: '500', cursor: first.next_cursor }))
      if (rest instanceof GatewayError) return false
      const last = first.items.at(-1)!
      return JSON.stringify(rest.items) === JSON.stringify(after.filter((key) => key > last))
    }),
  )
})

t.test('any other limit or cursor: 400 invalid_request', async () => {
  fc.assert(
    fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (limit, cursor) => {
      const query = new URLSearchParams({ limit, ...(cursor === undefined ? {} : { cursor }) })
      const page = listPage(['a', 'b'], (key) => key, query)
      if (!(page instanceof GatewayError)) return /^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 500
      return page.code === 'invalid_request'
    }),
  )
})
