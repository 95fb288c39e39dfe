// Reads the fields the gateway decides on from a JSON request body exactly as Ollama will read them, or refuses the
// body. Ollama decodes with Go's encoding/json (through gin): a key matches a struct field exactly, or else
// case-insensitively with Go's Unicode folding, escapes in keys decoded first, and when several keys match one field
// the last one wins (objects merged, nulls ignored). So a key that folds onto a checked field without being it, or a
// checked key given twice, could make Ollama act on a value the gateway never saw: both are refused. One pass over the
// bytes, no JSON.parse: only the checked values are decoded, everything else is validated and skipped.
import { FieldRefusal, GatewayError } from '../errors.js'

/** Go's decoder refuses JSON nested deeper than this (encoding/json maxNestingDepth). */
export const maxJsonDepth = 10_000

/**
 * The runes outside ASCII that Go folds onto an ASCII letter when it matches a key to a struct field, with that
 * letter (upper case). Go ≥ 1.21 folds each rune as unicode.ToUpper(unicode.ToLower(r)), which gives all four; Go ≤ 1.20
 * used unicode.SimpleFold orbits, which give only the Kelvin sign and the long s. The gateway refuses the union, so
 * either build of Ollama is covered. Pinned by test/api/jsonFields.test.ts against a Go program that walks every rune.
 */
export const foldsToAscii: ReadonlyMap<number, number> = new Map([
  [0x0130, 0x49], // İ (capital I with dot above) -> I, Go ≥ 1.21
  [0x0131, 0x49], // ı (dotless i) -> I, Go ≥ 1.21
  [0x017f, 0x53], // ſ (long s) -> S
  [0x212a, 0x4b], // K (Kelvin sign) -> K
])

/** What a checked field must hold (null always means "absent", as it does to Go here). */
export type FieldType = 'string' | 'bool' | 'number' | 'int' | 'object'

export interface FieldSpec {
  /** The field's JSON name, as Go's struct tag spells it. */
  name: string
  type: FieldType
  /** For an object: the fields read inside it. */
  object?: ObjectSpec
  /** Strings: the most UTF-8 bytes (as sent, escapes included) the gateway decodes; longer is refused. */
  maxBytes?: number
  /** What a refusal of a wrong type says first (e.g. "model is required"). */
  lead?: string
}

export interface ObjectSpec {
  fields: FieldSpec[]
  /** A Go struct (keys fold onto fields) or a Go map (keys are exact: a folded spelling is just another key). */
  folds: boolean
  /** How messages name this object's keys: '' at the top, `options.` inside options. */
  path?: string
}

/** A checked value as found: its JSON kind, the decoded value, and where its bytes are (for a rewrite). */
export interface FieldValue {
  kind: 'string' | 'bool' | 'number' | 'null' | 'object' | 'array'
  /** string: decoded; bool; number: as a double; object with a spec: the values of its fields. */
  value: string | boolean | number | null | Found | undefined
  /** Numbers: the literal as sent (Go's int fields refuse `1.0` and `1e3`). */
  literal?: string
  /** The value's bytes: [start, end). */
  start: number
  end: number
}

/** The values of a spec's fields, by index: undefined when the body does not have the field (kind 'null' when null). */
export type Found = (FieldValue | undefined)[]

const object = 1
const array = 2
/** Kind of each open container of skipValue (reused: the reader runs synchronously, one body at a time). */
const containers = new Uint8Array(maxJsonDepth + 2)
const isHex = new Uint8Array(256)
for (const c of '0123456789abcdefABCDEF') isHex[c.charCodeAt(0)] = 1
/** Bytes a string cannot simply pass over: its end, an escape, a control character, a byte outside ASCII. */
const inString = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) inString[c] = 1
for (let c = 0x80; c < 0x100; c++) inString[c] = 1
inString[0x22] = 1
inString[0x5c] = 1

/** Why the last read failed (set where it fails, returned by readJsonFields). */
let failure: GatewayError | undefined
/** Whether the last string skipped was plain ASCII without escapes (its bytes are its text). */
let plain = true

function fail(message: string, at: number): number {
  failure = new GatewayError('invalid_json', `request body is not valid JSON: ${message} at byte ${at}`)
  return -1
}

function refuse(message: string): number {
  failure = new GatewayError('invalid_request', message)
  return -1
}

function tooDeep(at: number): number {
  failure = new GatewayError(
    'invalid_json',
    `request body is nested deeper than ${maxJsonDepth} levels (at byte ${at}); Ollama refuses such JSON too`,
  )
  return -1
}

/**
 * Reads the fields of `spec` from a body that must be one JSON object (whitespace around it allowed, nothing else):
 * the values found, or the 400 that says what is wrong, naming the key.
 */
export function readJsonFields(body: Buffer, spec: ObjectSpec): Found | GatewayError {
  failure = undefined
  nextQuote = 0
  nextBackslash = 0
  const read = readBody(body, spec)
  words = undefined // not to hold on to the body
  return read
}

function readBody(body: Buffer, spec: ObjectSpec): Found | GatewayError {
  let at = whitespace(body, 0)
  if (at === body.length) return new GatewayError('invalid_request', 'missing request body')
  const found: Found = new Array(spec.fields.length)
  if (body[at] !== 0x7b) {
    if (skipValue(body, at, 0) < 0) return failure!
    return new GatewayError('invalid_json', 'request body must be a JSON object')
  }
  at = readObject(body, at, spec, 1, found)
  if (at < 0) return failure!
  at = whitespace(body, at)
  if (at !== body.length) {
    fail('unexpected data after the object', at)
    return failure!
  }
  return found
}

function whitespace(body: Buffer, at: number): number {
  for (;;) {
    const c = body[at]
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return at
    at++
  }
}

/** An object whose keys are checked against `spec`; `at` is on its `{`. Returns the position after its `}`. */
function readObject(body: Buffer, at: number, spec: ObjectSpec, depth: number, found: Found): number {
  if (depth > maxJsonDepth) return tooDeep(at)
  at = whitespace(body, at + 1)
  if (body[at] === 0x7d) return at + 1
  for (;;) {
    if (body[at] !== 0x22) return fail('expected a key', at)
    const keyStart = at
    at = skipString(body, at)
    if (at < 0) return at
    const index = matchKey(body, keyStart + 1, at - 1, spec)
    if (index === -2) return -1
    at = whitespace(body, at)
    if (body[at] !== 0x3a) return fail("expected ':'", at)
    at = whitespace(body, at + 1)
    if (index >= 0) {
      const field = spec.fields[index]!
      if (found[index] !== undefined) {
        return refuse(`"${spec.path ?? ''}${field.name}" is given more than once; send it once`)
      }
      at = readValue(body, at, field, spec, depth, found, index)
    } else {
      at = skipValue(body, at, depth)
    }
    if (at < 0) return at
    at = whitespace(body, at)
    if (body[at] === 0x2c) {
      at = whitespace(body, at + 1)
      continue
    }
    if (body[at] === 0x7d) return at + 1
    return fail("expected ',' or '}'", at)
  }
}

function readValue(
  body: Buffer,
  at: number,
  field: FieldSpec,
  spec: ObjectSpec,
  depth: number,
  found: Found,
  index: number,
): number {
  const start = at
  const c = body[at]
  /** A 400 for a value of the wrong JSON type, naming the field (built only when refusing). */
  const wrongType = (given: string) => {
    const name = `${spec.path ?? ''}${field.name}`
    const lead = field.lead ? `${field.lead}: ` : ''
    failure = new FieldRefusal(pointerOfPath(name), `${lead}"${name}" must be ${described[field.type]}, not ${given}`)
    return -1
  }
  let end: number
  let value: FieldValue
  if (c === 0x22) {
    end = skipString(body, at)
    if (end < 0) return end
    if (field.type !== 'string') return wrongType('a string')
    if (field.maxBytes !== undefined && end - at - 2 > field.maxBytes) {
      return refuse(`"${spec.path ?? ''}${field.name}" is too long: ${end - at - 2} bytes, at most ${field.maxBytes}`)
    }
    value = { kind: 'string', value: decodeString(body, at + 1, end - 1, plain), start, end }
  } else if (c === 0x7b) {
    if (field.type !== 'object') return wrongType('an object')
    const inner: Found | undefined = field.object ? new Array(field.object.fields.length) : undefined
    end = field.object ? readObject(body, at, field.object, depth + 1, inner!) : skipValue(body, at, depth)
    if (end < 0) return end
    value = { kind: 'object', value: inner, start, end }
  } else if (c === 0x5b) {
    return wrongType('an array')
  } else if (c === 0x74 || c === 0x66) {
    end = skipValue(body, at, depth)
    if (end < 0) return end
    if (field.type !== 'bool') return wrongType('true or false')
    value = { kind: 'bool', value: c === 0x74, start, end }
  } else if (c === 0x6e) {
    end = skipValue(body, at, depth)
    if (end < 0) return end
    // To Go a null leaves the field as it was (absent); kept to refuse a second key and to know where it is.
    value = { kind: 'null', value: null, start, end }
  } else {
    end = skipNumber(body, at)
    if (end < 0) return end
    if (field.type !== 'number' && field.type !== 'int') {
      return wrongType('a number')
    }
    const literal = body.toString('latin1', at, end)
    value = { kind: 'number', value: Number(literal), literal, start, end }
  }
  found[index] = value
  return end
}

/** The JSON pointer of a field as the reader names it (`options.num_predict` is /options/num_predict). */
export function pointerOfPath(name: string): string {
  return `/${name.replaceAll('~', '~0').replaceAll('/', '~1').replaceAll('.', '/')}`
}

const described: Record<FieldType, string> = {
  string: 'a string',
  bool: 'true or false',
  number: 'a number',
  int: 'an integer',
  object: 'an object',
}

/**
 * Which field of `spec` a key names: its index when the key is exactly the field's name (after decoding escapes, as
 * Go does), -1 when it names none, -2 (refused) when it folds onto a field without being it.
 */
function matchKey(body: Buffer, start: number, end: number, spec: ObjectSpec): number {
  const length = end - start
  if (plain) {
    for (let index = 0; index < spec.fields.length; index++) {
      const name = spec.fields[index]!.name
      if (name.length !== length) continue
      let exact = true
      let folded = true
      for (let i = 0; i < length; i++) {
        const c = body[start + i]!
        const n = name.charCodeAt(i)
        if (c === n) continue
        exact = false
        if (!spec.folds || upper(c) !== upper(n)) {
          folded = false
          break
        }
      }
      if (exact) return index
      if (folded) return ambiguous(body.toString('latin1', start, end), spec.fields[index]!.name, spec)
    }
    return -1
  }
  // Escapes or non-ASCII: decode, then compare rune by rune.
  const key = decodeString(body, start, end, false)
  for (let index = 0; index < spec.fields.length; index++) {
    const name = spec.fields[index]!.name
    if (key === name) return index
    if (spec.folds && foldsOnto(key, name)) return ambiguous(key, name, spec)
  }
  return -1
}

function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c
}

/** Whether Go (any version) matches `key` to the ASCII field name `name` case-insensitively. */
export function foldsOnto(key: string, name: string): boolean {
  let i = 0
  for (const char of key) {
    if (i >= name.length) return false
    const c = char.codePointAt(0)!
    const n = upper(name.charCodeAt(i++))
    if (c < 0x80 ? upper(c) !== n : foldsToAscii.get(c) !== n) return false
  }
  return i === name.length
}

function ambiguous(key: string, name: string, spec: ObjectSpec): number {
  const path = spec.path ?? ''
  refuse(
    `the key ${JSON.stringify(key.length > 40 ? key.slice(0, 40) : key)}${path ? ` in "${path.slice(0, -1)}"` : ''} ` +
      `is read by Ollama as "${name}" (keys match case-insensitively); send "${name}" exactly, once`,
  )
  return -2
}

/** Past a string whose `"` is at `at`; sets `plain`. */
function skipString(body: Buffer, at: number): number {
  plain = true
  const length = body.length
  let i = at + 1
  // Byte by byte up to `end`: `longRun` bytes, then the words skipRun passes, then `longRun` bytes again, and so on.
  let end = i + longRun < length ? i + longRun : length
  for (;;) {
    for (; i < end; i++) {
      const c = body[i]!
      if (inString[c] === 0) continue
      if (c === 0x22) return i + 1
      if (c === 0x5c) {
        plain = false
        const e = body[++i]
        if (e === 0x75) {
          if (!(isHex[body[i + 1]!] && isHex[body[i + 2]!] && isHex[body[i + 3]!] && isHex[body[i + 4]!])) {
            return fail('invalid \\u escape in a string', i)
          }
          i += 4
        } else if (
          e !== 0x22 &&
          e !== 0x5c &&
          e !== 0x2f &&
          e !== 0x62 &&
          e !== 0x66 &&
          e !== 0x6e &&
          e !== 0x72 &&
          e !== 0x74
        ) {
          return fail('invalid escape in a string', i)
        }
      } else if (c < 0x20) {
        return fail('control character in a string', i)
      } else {
        plain = false
      }
    }
    if (i >= length) return fail('unterminated string', at)
    const next = skipRun(body, i)
    // A control character ahead: the byte loop reads on to it and refuses it as it always did.
    if (next < 0) {
      i = ~next
      end = length
    } else {
      i = next
      end = i + longRun < length ? i + longRun : length
    }
  }
}

/** Plain bytes a string runs through byte by byte before the rest of the run is skipped a word at a time (skipRun). */
const longRun = 16
/** Words skipRun checks one by one before it looks for the run's end natively instead. */
const shortWords = 64
/** The body as 32-bit words from its first 4-byte boundary, made on the first long run (none when not made yet). */
let words: Int32Array | undefined
/** The body offset of words[0]. */
let wordsAt = 0
/** The next `"` and `\\` at or after the last search for each (-1: none left): each byte is searched once per body. */
let nextQuote = 0
let nextBackslash = 0

/**
 * Where the byte loop goes on inside a string from `i`: the first word (from the one holding `i`) that holds a `"`, a
 * `\\` or a control character, which the byte loop then reads as it always did; `i` if that is the word of `i`. Or,
 * as ~position, from where the run cannot be skipped (a control character or no `"` ahead): the byte loop reads on
 * byte by byte and refuses it.
 *
 * Each word x is checked with bit tricks: (x - 0x20202020) & ~x has a top bit set only if some byte of x is below 0x20
 * (a borrow only starts at such a byte), and the same on x ^ 0x22222222 and x ^ 0x5c5c5c5c minus 0x01010101 finds a
 * `"` or `\\`; x's own top bits say whether a byte is outside ASCII, which only clears `plain` (Go replaces invalid
 * UTF-8 rather than refusing it). Past `shortWords` words the run is long: its end is found with the native memchr
 * behind Buffer.indexOf and the words before it only checked for control characters, without a branch.
 */
function skipRun(body: Buffer, i: number): number {
  // A local: a module variable would be loaded again on every pass of the loop.
  const view = words ?? wordsOf(body)
  let k = (i - wordsAt) >> 2
  let high = 0
  const stop = k + shortWords < view.length ? k + shortWords : view.length
  for (; k < stop; k++) {
    const x = view[k]!
    const quote = x ^ 0x22222222
    const backslash = x ^ 0x5c5c5c5c
    const special = ((x - 0x20202020) & ~x) | ((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash)
    if ((special & 0x80808080) !== 0) break
    high |= x
  }
  if ((high & 0x80808080) !== 0) plain = false
  const at = wordsAt + 4 * k
  if (at <= i) return i
  return k < stop || k === view.length ? at : skipLongRun(body, view, at)
}

/** The body's words (an Int32Array needs a 4-byte-aligned start; a body may be any slice of its buffer). */
function wordsOf(body: Buffer): Int32Array {
  wordsAt = (4 - (body.byteOffset & 3)) & 3
  words = new Int32Array(body.buffer, body.byteOffset + wordsAt, (body.length - wordsAt) >> 2)
  return words
}

/** skipRun past its first words: to the word of the next `"` or `\\` when no control character comes before it. */
function skipLongRun(body: Buffer, view: Int32Array, at: number): number {
  if (nextQuote >= 0 && nextQuote < at) nextQuote = body.indexOf(0x22, at)
  if (nextQuote < 0) return ~at
  if (nextBackslash >= 0 && nextBackslash < at) nextBackslash = body.indexOf(0x5c, at)
  const end = nextBackslash >= 0 && nextBackslash < nextQuote ? nextBackslash : nextQuote
  const last = (end - wordsAt) >> 2
  let low = 0
  let high = 0
  for (let k = (at - wordsAt) >> 2; k < last; k++) {
    const x = view[k]!
    low |= (x - 0x20202020) & ~x
    high |= x
  }
  if ((low & 0x80808080) !== 0) return ~at
  if ((high & 0x80808080) !== 0) plain = false
  return wordsAt + 4 * last
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39
}

/** Past a number (JSON's grammar, which is Go's). */
function skipNumber(body: Buffer, at: number): number {
  const start = at
  if (body[at] === 0x2d) at++
  if (body[at] === 0x30) at++
  else if (isDigit(body[at]) && body[at] !== 0x30) while (isDigit(body[at])) at++
  else return fail('invalid value', start)
  if (body[at] === 0x2e) {
    at++
    if (!isDigit(body[at])) return fail('invalid number', start)
    while (isDigit(body[at])) at++
  }
  if (body[at] === 0x65 || body[at] === 0x45) {
    at++
    if (body[at] === 0x2b || body[at] === 0x2d) at++
    if (!isDigit(body[at])) return fail('invalid number', start)
    while (isDigit(body[at])) at++
  }
  return at
}

function skipWord(body: Buffer, at: number, word: string): number {
  for (let i = 0; i < word.length; i++) if (body[at + i] !== word.charCodeAt(i)) return fail('invalid value', at)
  return at + word.length
}

/**
 * Past any value at `at`, validating it, with `depth` containers already open around it. Iterative: nesting costs a
 * byte of `containers` per level, never the call stack.
 */
function skipValue(body: Buffer, at: number, depth: number): number {
  let level = depth
  for (;;) {
    // A value starts here.
    at = whitespace(body, at)
    const c = body[at]
    if (c === 0x7b || c === 0x5b) {
      if (++level > maxJsonDepth) return tooDeep(at)
      containers[level] = c === 0x7b ? object : array
      at = whitespace(body, at + 1)
      if (body[at] === (c === 0x7b ? 0x7d : 0x5d)) {
        at++
        level--
      } else {
        if (c === 0x7b) {
          at = key(body, at)
          if (at < 0) return at
        }
        continue
      }
    } else if (c === 0x22) at = skipString(body, at)
    else if (c === 0x74) at = skipWord(body, at, 'true')
    else if (c === 0x66) at = skipWord(body, at, 'false')
    else if (c === 0x6e) at = skipWord(body, at, 'null')
    else at = skipNumber(body, at)
    if (at < 0) return at
    // After a value: close containers, or go on to the next element.
    for (;;) {
      if (level === depth) return at
      at = whitespace(body, at)
      const next = body[at]
      if (next === 0x2c) {
        at++
        if (containers[level] === object) {
          at = key(body, whitespace(body, at))
          if (at < 0) return at
        }
        break
      }
      if (next === (containers[level] === object ? 0x7d : 0x5d)) {
        at++
        level--
        continue
      }
      return fail(containers[level] === object ? "expected ',' or '}'" : "expected ',' or ']'", at)
    }
  }
}

/** A key and its colon inside a skipped object. */
function key(body: Buffer, at: number): number {
  if (body[at] !== 0x22) return fail('expected a key', at)
  at = whitespace(body, skipString(body, at))
  if (at < 0) return at
  if (body[at] !== 0x3a) return fail("expected ':'", at)
  return at + 1
}

/**
 * The text of a string's bytes [start, end) (quotes excluded), escapes decoded as Go decodes them: a \u escape of a
 * lone surrogate becomes U+FFFD, as Go makes it.
 */
function decodeString(body: Buffer, start: number, end: number, isPlain: boolean): string {
  if (isPlain) return body.toString('latin1', start, end)
  let text = ''
  let run = start
  for (let i = start; i < end; i++) {
    if (body[i] !== 0x5c) continue
    if (i > run) text += body.toString('utf8', run, i)
    const e = body[i + 1]!
    if (e === 0x75) {
      let unit = parseInt(body.toString('latin1', i + 2, i + 6), 16)
      i += 5
      if (unit >= 0xd800 && unit <= 0xdbff && body[i + 1] === 0x5c && body[i + 2] === 0x75) {
        const low = parseInt(body.toString('latin1', i + 3, i + 7), 16)
        if (low >= 0xdc00 && low <= 0xdfff) {
          text += String.fromCharCode(unit, low)
          i += 6
          run = i + 1
          continue
        }
      }
      if (unit >= 0xd800 && unit <= 0xdfff) unit = 0xfffd
      text += String.fromCharCode(unit)
    } else {
      text += escapes[e] ?? ''
      i += 1
    }
    run = i + 1
  }
  if (end > run) text += body.toString('utf8', run, end)
  return text
}

const escapes: Record<number, string> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
}

/** A change to the body: bytes [start, end) replaced by `text` (an insertion when start === end). */
export interface Edit {
  start: number
  end: number
  text: string
}

/** The body with its edits applied (edits in any order, not overlapping). */
export function applyEdits(body: Buffer, edits: Edit[]): Buffer {
  edits.sort((a, b) => a.start - b.start)
  const parts: Buffer[] = []
  let at = 0
  for (const edit of edits) {
    parts.push(body.subarray(at, edit.start), Buffer.from(edit.text))
    at = edit.end
  }
  parts.push(body.subarray(at))
  return Buffer.concat(parts)
}
