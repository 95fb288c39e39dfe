// Cursor pagination for the admin API's lists: `?limit=` (1..500, default 100) and `?cursor=` from the previous
// page's `next_cursor`. Keyset, not offset: the cursor holds the sort key of the last item shown, and the next page
// starts after it, so a walk shows every item that exists throughout it exactly once even while items are added or
// removed (an offset would repeat or skip one). The cursor is opaque to callers: base64url of the list's name and
// that key, so that a cursor of one list is not taken by another.
import { GatewayError } from '../errors.js'

export const pageLimits = { default: 100, max: 500 }

export interface PageRequest {
  limit: number
  /** The sort key the page starts after; undefined for the first page. */
  after: string | undefined
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

/** The paging of a list query, or a 400 naming what is wrong with it. */
export function pageRequest(query: URLSearchParams, list: string): PageRequest | GatewayError {
  const limitText = query.get('limit')
  const limit = limitText === null ? pageLimits.default : Number(limitText)
  if (!/^\d+$/.test(limitText ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > pageLimits.max) {
    return new GatewayError('invalid_request', `"limit" must be a whole number from 1 to ${pageLimits.max}`)
  }
  const cursor = query.get('cursor')
  if (cursor === null || cursor === '') return { limit, after: undefined }
  const after = readCursor(cursor, list)
  return after === undefined
    ? new GatewayError('invalid_request', `"cursor" is not one this list gave out: pass next_cursor as it came`)
    : { limit, after }
}

/**
 * One page of `items`, which the caller gives sorted by `keyOf` ascending (plain string order, each key unique);
 * `view` shapes each item shown.
 */
export function pageOf<T, V>(
  items: readonly T[],
  request: PageRequest,
  list: string,
  keyOf: (item: T) => string,
  view: (item: T) => V,
): Page<V> {
  const start = request.after === undefined ? 0 : firstAfter(items, request.after, keyOf)
  const shown = items.slice(start, start + request.limit)
  const more = start + request.limit < items.length
  return { items: shown.map(view), next_cursor: more ? writeCursor(list, keyOf(shown.at(-1)!)) : null }
}

/** String order, as pageOf's keys are compared (not locale order, which is not a total order on every string). */
export function byKey<T>(keyOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0)
}

function firstAfter<T>(items: readonly T[], after: string, keyOf: (item: T) => string): number {
  let low = 0
  let high = items.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (keyOf(items[middle]!) <= after) low = middle + 1
    else high = middle
  }
  return low
}

export function writeCursor(list: string, after: string): string {
  return Buffer.from(JSON.stringify([list, after])).toString('base64url')
}

function readCursor(cursor: string, list: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2 && value[0] === list && typeof value[1] === 'string') {
      return value[1]
    }
  } catch {
    // not ours
  }
  return undefined
}
