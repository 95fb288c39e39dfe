// An OpenAI reply names itself: `"id":"chatcmpl-…"` and `"created":<seconds>` in every chunk. A replay must not hand
// out a reply's id twice (clients and logs tell replies apart by it) nor an old time as the reply's creation, so the
// places of both are found once, when the entry is stored, and filled with fresh values on each replay. Ollama (and
// any Go or JS encoder) writes them compactly; a quote inside a string is escaped, so the patterns below only ever
// match the reply's own members, never text the model wrote.
import { randomBytes } from 'node:crypto'
import type { Hole } from './cacheEntry.js'

const idStart = Buffer.from('"id":"')
const createdStart = Buffer.from('"created":')

/** The holes of an OpenAI reply's body: every occurrence of its first id and first created value. */
export function findHoles(body: Buffer): Hole[] {
  const holes: Hole[] = []
  const id = valueAfter(body, idStart, 0x22)
  if (id) collect(body, Buffer.concat([idStart, id, Buffer.from('"')]), idStart.length, id.length, 'id', holes)
  const created = valueAfter(body, createdStart, -1)
  if (created && /^[0-9]{1,15}$/.test(created.toString('latin1'))) {
    collect(body, Buffer.concat([createdStart, created]), createdStart.length, created.length, 'created', holes)
  }
  return holes.sort((a, b) => a.start - b.start)
}

/** The body with its holes filled: one fresh id (same prefix, new suffix) and the time now, for every place. */
export function fillHoles(body: Buffer, holes: readonly Hole[], nowMs: number): Buffer {
  if (holes.length === 0) return body
  const pieces: Buffer[] = []
  let id: Buffer | undefined
  const created = Buffer.from(String(Math.floor(nowMs / 1000)))
  let at = 0
  for (const hole of holes) {
    pieces.push(body.subarray(at, hole.start))
    if (hole.kind === 'created') pieces.push(created)
    else pieces.push((id ??= freshId(body.subarray(hole.start, hole.end))))
    at = hole.end
  }
  pieces.push(body.subarray(at))
  return Buffer.concat(pieces)
}

/** `chatcmpl-123` → `chatcmpl-<24 hex digits>`: the kind stays readable, the id is new. */
function freshId(old: Buffer): Buffer {
  const dash = old.lastIndexOf(0x2d)
  const prefix = dash >= 0 ? old.subarray(0, dash + 1).toString('latin1') : ''
  return Buffer.from(prefix + randomBytes(12).toString('hex'))
}

/** The bytes after the first `start` up to `end` (a byte), or up to the first , } or space when end is -1. */
function valueAfter(body: Buffer, start: Buffer, end: number): Buffer | undefined {
  const at = body.indexOf(start)
  if (at < 0) return undefined
  const from = at + start.length
  let to = from
  while (to < body.length && to - from < 256) {
    const c = body[to]!
    if (end >= 0 ? c === end || c === 0x5c : c === 0x2c || c === 0x7d || c === 0x20 || c === 0x0a) break
    to++
  }
  if (to === from || to >= body.length || (end >= 0 && body[to] !== end)) return undefined
  return body.subarray(from, to)
}

function collect(body: Buffer, whole: Buffer, skip: number, length: number, kind: Hole['kind'], into: Hole[]): void {
  for (let at = body.indexOf(whole); at >= 0; at = body.indexOf(whole, at + whole.length)) {
    // A longer number that starts with the same digits is another value.
    const next = body[at + whole.length]
    if (kind === 'created' && next !== undefined && next >= 0x30 && next <= 0x39) continue
    into.push({ start: at + skip, end: at + skip + length, kind })
  }
}
