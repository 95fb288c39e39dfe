// Cursor pages: a walk over a list shows every item present throughout it exactly once, in order, whatever is added
// or removed between pages; bad paging queries are refused with a message, never a crash.
import fc from 'fast-check'
import t from 'tap'
import { byKey, pageOf, pageRequest, writeCursor, type PageRequest } from '../../src/api/pagination.js'
import { GatewayError } from '../../src/errors.js'

const key = (item: string) => item

t.test('a walk sees each item that stayed exactly once, in key order, while others come and go', async () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ maxLength: 6 }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 7 }),
      fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.boolean()), { maxLength: 30 }),
      (initial, limit, changes) => {
        const items = new Set(initial)
        const stayed = new Set(initial)
        const seen: string[] = []
        let request: PageRequest = { limit, after: undefined }
        for (let turn = 0; turn < 1000; turn++) {
          const sorted = [...items].sort(byKey(key))
          const page = pageOf(sorted, request, 'test', key, (item) => item)
          seen.push(...page.items)
          if (page.next_cursor === null) break
          const next = pageRequest(new URLSearchParams({ limit: String(limit), cursor: page.next_cursor }), 'test')
          if (next instanceof GatewayError) throw next
          request = next
          // Between pages, someone adds or removes an item.
          const change = changes[turn]
          if (change) {
            const [item, add] = change
            if (add) items.add(item)
            else {
              items.delete(item)
              stayed.delete(item)
            }
          }
        }
        const counts = new Map<string, number>()
        for (const item of seen) counts.set(item, (counts.get(item) ?? 0) + 1)
        for (const item of stayed) if (counts.get(item) !== 1) throw new Error(`${item} seen ${counts.get(item)} times`)
        for (const [item, count] of counts) if (count !== 1) throw new Error(`${item} seen ${count} times`)
        for (let i = 1; i < seen.length; i++) if (!(seen[i - 1]! < seen[i]!)) throw new Error('out of order')
      },
    ),
  )
})

t.test('bad limits and cursors are a 400 naming the parameter', async (t) => {
  for (const limit of ['0', '501', '-1', '1.5', 'ten', '', '1e2', ' 5']) {
    const refused = pageRequest(new URLSearchParams({ limit }), 'test')
    t.ok(refused instanceof GatewayError && refused.status === 400 && /"limit"/.test(refused.message), limit)
  }
  fc.assert(
    fc.property(fc.string(), (cursor) => {
      const read = pageRequest(new URLSearchParams({ cursor }), 'test')
      return cursor === '' || (read instanceof GatewayError && /"cursor"/.test(read.message))
    }),
  )
  const otherList = pageRequest(new URLSearchParams({ cursor: writeCursor('users', 'a') }), 'keys')
  t.ok(otherList instanceof GatewayError, "another list's cursor is refused")
  t.same(pageRequest(new URLSearchParams({ cursor: writeCursor('keys', 'a') }), 'keys'), { limit: 100, after: 'a' })
})
