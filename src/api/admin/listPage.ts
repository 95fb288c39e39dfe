// One page of a list the gateway holds in memory (backends, the model inventory), by the admin API's list convention:
// `?limit=` (1..500, default 100) and `?cursor=` (opaque: the last key of the previous page), answered as
// `{ items, next_cursor }`. Keys are unique and the items sorted by them, so a page boundary never skips or repeats
// an item even when the list changed between two pages.
import { GatewayError } from '../../errors.js'

export interface ListPage<T> {
  items: T[]
  next_cursor: string | null
}

const maxLimit = 500
const defaultLimit = 100

/** `items` sorted by `key` (ascending, unique). */
export function listPage<T>(items: readonly T[], key: (item: T) => string, query: URLSearchParams) {
  const limitText = query.get('limit')
  // Digits only: Number() would also take " 1", "1.0", "0x10" and "1e2".
  const limit = limitText === null ? defaultLimit : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN
  if (!(limit >= 1 && limit <= maxLimit)) {
    return new GatewayError('invalid_request', `"limit" must be a whole number from 1 to ${maxLimit}`)
  }
  const cursorText = query.get('cursor')
  const after = cursorText === null ? undefined : decodeCursor(cursorText)
  if (after instanceof GatewayError) return after
  const start = after === undefined ? 0 : firstAfter(items, key, after)
  const page = items.slice(start, start + limit)
  const more = start + limit < items.length
  return { items: page, next_cursor: more ? encodeCursor(key(page.at(-1)!)) : null } satisfies ListPage<T>
}

function firstAfter<T>(items: readonly T[], key: (item: T) => string, after: string): number {
  const index = items.findIndex((item) => key(item) > after)
  return index === -1 ? items.length : index
}

function encodeCursor(key: string): string {
  return Buffer.from(`k:${key}`, 'utf8').toString('base64url')
}

function decodeCursor(text: string): string | GatewayError {
  const decoded = /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, 'base64url').toString('utf8') : ''
  if (!decoded.startsWith('k:')) {
    return new GatewayError('invalid_request', '"cursor" is not one this list gave (use next_cursor as it came)')
  }
  return decoded.slice(2)
}
