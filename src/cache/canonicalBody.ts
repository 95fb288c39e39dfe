// A JSON body in canonical form: object members sorted by key (recursively), whitespace gone, strings re-escaped one
// way. Numbers keep their literal text, so a body whose numbers JSON.parse would round together (2^53 + 1 and 2^53,
// 1e400 and 1e401) never reads as the same body; two members under one key are both kept (never merged), so a body
// with a duplicate never reads as the body without it. The cost: `1.0` and `1` are different bodies (a miss, never a
// wrong hit).
import { isUtf8 } from 'node:buffer'

/** A number as the body wrote it. */
export class JsonNumber {
  constructor(readonly literal: string) {}
}

/** An object's members in the body's order (duplicates kept). */
export class JsonMembers {
  constructor(readonly pairs: [string, JsonNode][]) {}

  /** The value under `key`, or undefined when absent or when the key is there more than once in any letter case. */
  only(key: string): JsonNode | undefined {
    let found: JsonNode | undefined
    let count = 0
    for (const [name, value] of this.pairs) {
      if (foldKey(name) !== key) continue
      count++
      found = value
    }
    return count === 1 ? found : undefined
  }

  /**
   * The value under exactly `key` (letter case as written), or undefined when absent or there more than once: a Go
   * map (Ollama's `options`) keeps keys as written, and Ollama reads an option only under its exact name.
   */
  exact(key: string): JsonNode | undefined {
    let found: JsonNode | undefined
    let count = 0
    for (const [name, value] of this.pairs) {
      if (name !== key) continue
      count++
      found = value
    }
    return count === 1 ? found : undefined
  }
}

export type JsonNode = string | boolean | null | JsonNumber | JsonNode[] | JsonMembers

/**
 * Go's encoding/json matches keys to fields case-insensitively (simple folding: the Kelvin sign is k, the long s is
 * s): the policy treats every spelling as the same field.
 */
export function foldKey(key: string): string {
  return key.toLowerCase().replace(/\u017f/g, 's')
}

/** The body parsed, or undefined when it is not valid UTF-8 JSON. */
export function parseBody(body: Buffer): JsonNode | undefined {
  if (!isUtf8(body)) return undefined
  const reader = new Reader(body.toString('utf8'))
  try {
    const value = reader.value()
    reader.space()
    return reader.at === reader.text.length ? value : undefined
  } catch {
    return undefined
  }
}

/** The canonical text of a parsed body; `leaveOut` names top-level members that are not part of it. */
export function canonicalText(node: JsonNode, leaveOut?: ReadonlySet<string>): string {
  if (node === null) return 'null'
  if (typeof node === 'string') return JSON.stringify(node)
  if (typeof node === 'boolean') return node ? 'true' : 'false'
  if (node instanceof JsonNumber) return node.literal
  if (Array.isArray(node)) return `[${node.map((item) => canonicalText(item)).join(',')}]`
  const kept = leaveOut ? node.pairs.filter(([key]) => !leaveOut.has(key)) : node.pairs.slice()
  // Array.prototype.sort is stable: two members under one key keep their order.
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return `{${kept.map(([key, value]) => `${JSON.stringify(key)}:${canonicalText(value)}`).join(',')}}`
}

class Invalid extends Error {}

const numberLiteral = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

/** RFC 8259, strict: what any JSON decoder (Go's, Ollama's) accepts, and nothing more. */
class Reader {
  at = 0
  /** Nesting depth: a body nested deeper than any request needs is no body to key. */
  private depth = 0

  constructor(readonly text: string) {}

  space(): void {
    const text = this.text
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at)
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return
      this.at++
    }
  }

  value(): JsonNode {
    this.space()
    const c = this.text[this.at]
    if (c === '{') return this.object()
    if (c === '[') return this.array()
    if (c === '"') return this.string()
    if (this.text.startsWith('true', this.at)) return this.word(4, true)
    if (this.text.startsWith('false', this.at)) return this.word(5, false)
    if (this.text.startsWith('null', this.at)) return this.word(4, null)
    numberLiteral.lastIndex = this.at
    const match = numberLiteral.exec(this.text)
    if (!match) throw new Invalid()
    this.at += match[0].length
    return new JsonNumber(match[0])
  }

  private word<T>(length: number, value: T): T {
    this.at += length
    return value
  }

  private enter(): void {
    if (++this.depth > 512) throw new Invalid()
    this.at++
  }

  private object(): JsonMembers {
    this.enter()
    const pairs: [string, JsonNode][] = []
    this.space()
    if (this.text[this.at] === '}') {
      this.at++
      this.depth--
      return new JsonMembers(pairs)
    }
    for (;;) {
      this.space()
      if (this.text[this.at] !== '"') throw new Invalid()
      const key = this.string()
      this.space()
      if (this.text[this.at++] !== ':') throw new Invalid()
      pairs.push([key, this.value()])
      this.space()
      const next = this.text[this.at++]
      if (next === '}') break
      if (next !== ',') throw new Invalid()
    }
    this.depth--
    return new JsonMembers(pairs)
  }

  private array(): JsonNode[] {
    this.enter()
    const items: JsonNode[] = []
    this.space()
    if (this.text[this.at] === ']') {
      this.at++
      this.depth--
      return items
    }
    for (;;) {
      items.push(this.value())
      this.space()
      const next = this.text[this.at++]
      if (next === ']') break
      if (next !== ',') throw new Invalid()
    }
    this.depth--
    return items
  }

  private string(): string {
    const text = this.text
    const start = this.at
    let escaped = false
    let i = start + 1
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 0x22) break
      if (c < 0x20) throw new Invalid()
      if (c === 0x5c) {
        escaped = true
        i++
      }
    }
    if (i >= text.length) throw new Invalid()
    this.at = i + 1
    // JSON.parse decodes the escapes (and refuses a bad one); a string without any is its own text.
    return escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i)
  }
}
