// Calls to the admin API of a test rig: the status, the headers and the parsed body of each answer, and checks that a
// refusal is a problem (application/problem+json with the stable code).
import type { Rig } from './gateway.js'

export interface AdminAnswer {
  status: number
  headers: Headers
  body: any
}

export async function adminCall(
  rig: Rig,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<AdminAnswer> {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
  const response = await fetch(`${rig.url}/admin/v1${path}`, {
    method,
    headers: {
      ...(options.headers ?? rig.headers),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body,
  })
  const text = await response.text()
  const parsed: unknown = text === '' ? undefined : JSON.parse(text)
  if (response.status >= 400) {
    const type = response.headers.get('content-type')
    if (type !== 'application/problem+json') throw new Error(`${method} ${path}: ${response.status} as ${type}`)
  }
  return { status: response.status, headers: response.headers, body: parsed }
}

/** Every item of a list, page by page (`between` runs after each page: a test adds items meanwhile). */
export async function walkPages(
  rig: Rig,
  path: string,
  limit: number,
  between: () => void | Promise<void> = () => {},
): Promise<{ items: any[]; pages: number }> {
  const items: any[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const separator = path.includes('?') ? '&' : '?'
    const query = `${separator}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
    const page = await adminCall(rig, 'GET', path + query)
    if (page.status !== 200) throw new Error(`${path}: ${page.status} ${JSON.stringify(page.body)}`)
    items.push(...page.body.items)
    cursor = page.body.next_cursor
    pages++
    await between()
  } while (cursor !== null)
  return { items, pages }
}
