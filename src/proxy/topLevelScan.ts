// Reads a few fields of a JSON object by their place in its structure, not by their text: only keys of the top-level
// object count (and the keys of one named object inside it, e.g. `usage`), so a key that a model wrote inside its
// output (a string, or tool-call arguments nested deeper) can never be mistaken for a metric. It scans the bytes as
// they stream past with a few counters of state and keeps none of them: memory is constant and time linear however
// large the value (strings are skipped with Buffer.indexOf). Counts must be non-negative safe integers, else unknown.

/** A field to read: `count` (a non-negative safe integer, else unknown) or `text` (a string, bounded). */
export interface FieldSpec {
  name: string
  kind: 'count' | 'text'
}

export interface ScanSpec {
  /** Keys of the top-level object. */
  fields: readonly FieldSpec[]
  /** One top-level key whose object value's keys are read too (their slots follow the top-level ones). */
  nested?: { key: string; fields: readonly FieldSpec[] }
  /** NDJSON: every line is one object and the last non-empty line is the one read; else one JSON value. */
  lines: boolean
}

/** A text value longer than this is reported as present but unreadable (null). */
export const maxTextBytes = 1024
/** Keys longer than this are none of ours. */
const maxKeyBytes = 32
/** `null` as the big-endian number of its four bytes. */
const nullLiteral = 0x6e756c6c

const TOP = 0
const KEY = 1
const KEY_STRING = 2
const COLON = 3
const VALUE = 4
const VALUE_STRING = 5
const LITERAL = 6
const AFTER = 7
const SKIP = 8
const SKIP_STRING = 9
const DONE = 10
const BAD = 11

const quote = 0x22
const backslash = 0x5c
const newline = 0x0a

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** A ScanSpec compiled once (per module, not per request): the keys as bytes, the kinds by slot. */
export class FieldTable {
  readonly names: Buffer[]
  readonly kinds: ('count' | 'text')[]
  readonly topCount: number
  readonly nestedKey: Buffer | undefined
  readonly lines: boolean

  constructor(spec: ScanSpec) {
    const all = [...spec.fields, ...(spec.nested?.fields ?? [])]
    this.names = all.map((field) => Buffer.from(field.name))
    this.kinds = all.map((field) => field.kind)
    this.topCount = spec.fields.length
    this.nestedKey = spec.nested && Buffer.from(spec.nested.key)
    this.lines = spec.lines
  }
}

export class JsonFieldScanner {
  private readonly names: Buffer[]
  private readonly kinds: ('count' | 'text')[]
  private readonly topCount: number
  private readonly nestedKey: Buffer | undefined
  private readonly lines: boolean
  /** The values of the object being read, and of the last one finished (swapped at each line's end). */
  private counts: (number | undefined)[]
  private texts: (string | null | undefined)[]
  private doneCounts: (number | undefined)[]
  private doneTexts: (string | null | undefined)[]
  private doneComplete = false

  private phase = TOP
  /** 0: outside the top-level object; 1: in it; 2: in the nested object of interest. */
  private level = 0
  private skipDepth = 0
  private escaped = false
  private content = false
  /** The slot of the key just read (-1: none of ours), and whether it names the nested object. */
  private slot = -1
  private slotNested = false
  /**
   * The key or text value being read: a view of the chunk while it lies in one (no copy), else copied into `scratch`
   * (allocated the first time a string straddles two chunks). Never refers to a chunk after push() returns.
   */
  private span: Buffer | undefined
  private spanFrom = 0
  private spanTo = 0
  private overflow = false
  private scratch: Buffer | undefined
  private literalLength = 0
  private number = 0
  /** The first four bytes of a literal, to recognise `null`. */
  private literal = 0
  private numberValid = true

  constructor(table: FieldTable) {
    this.names = table.names
    this.kinds = table.kinds
    this.topCount = table.topCount
    this.nestedKey = table.nestedKey
    this.lines = table.lines
    const slots = table.names.length
    this.counts = new Array<number | undefined>(slots).fill(undefined)
    this.texts = new Array<string | null | undefined>(slots).fill(undefined)
    this.doneCounts = this.counts.slice()
    this.doneTexts = this.texts.slice()
  }

  push(chunk: Buffer): void {
    if (!this.lines) {
      this.scan(chunk, 0, chunk.length)
      return
    }
    let at = 0
    while (at < chunk.length) {
      const end = chunk.indexOf(newline, at)
      if (end < 0) {
        this.scan(chunk, at, chunk.length)
        return
      }
      if (end > at) this.scan(chunk, at, end)
      this.endObject()
      at = end + 1
    }
  }

  /** Ends the input; the values read are then those of the last object, if it was whole. */
  finish(): void {
    this.endObject()
  }

  /** A count of the last whole object (undefined: absent, not a non-negative safe integer, or no whole object). */
  count(slot: number): number | undefined {
    return this.doneComplete ? this.doneCounts[slot] : undefined
  }

  /** A text of the last whole object: undefined when absent, null when present but not a readable string. */
  text(slot: number): string | null | undefined {
    return this.doneComplete ? this.doneTexts[slot] : undefined
  }

  /** Whether the last object read was whole (a complete top-level object and nothing else on its line). */
  get complete(): boolean {
    return this.doneComplete
  }

  private endObject(): void {
    if (this.content) {
      const counts = this.doneCounts
      const texts = this.doneTexts
      this.doneCounts = this.counts
      this.doneTexts = this.texts
      this.counts = counts
      this.texts = texts
      this.doneComplete = this.phase === DONE
    }
    this.phase = TOP
    this.level = 0
    this.escaped = false
    this.content = false
  }

  private startObject(): void {
    this.content = true
    this.counts.fill(undefined)
    this.texts.fill(undefined)
  }

  private scan(b: Buffer, i: number, end: number): void {
    while (i < end) {
      switch (this.phase) {
        case TOP: {
          const c = b[i]!
          if (isSpace(c)) {
            i++
          } else if (c === 0x7b) {
            this.startObject()
            this.level = 1
            this.phase = KEY
            i++
          } else {
            this.startObject()
            this.phase = BAD
          }
          break
        }
        case KEY: {
          const c = b[i]!
          if (isSpace(c)) i++
          else if (c === quote) {
            this.phase = KEY_STRING
            this.startCapture()
            i++
          } else if (c === 0x7d) {
            this.close()
            i++
          } else this.phase = BAD
          break
        }
        case KEY_STRING: {
          const next = this.string(b, i, end, 1)
          if (next < 0) return
          this.chooseSlot()
          this.phase = COLON
          i = next
          break
        }
        case COLON: {
          const c = b[i]!
          if (isSpace(c)) i++
          else if (c === 0x3a) {
            this.phase = VALUE
            i++
          } else this.phase = BAD
          break
        }
        case VALUE: {
          const c = b[i]!
          if (isSpace(c)) {
            i++
          } else if (c === quote) {
            this.phase = VALUE_STRING
            this.startCapture()
            i++
          } else if (c === 0x7b && this.slotNested) {
            this.level = 2
            this.phase = KEY
            i++
          } else if (c === 0x7b || c === 0x5b) {
            this.setUnreadable()
            this.skipDepth = 1
            this.phase = SKIP
            i++
          } else {
            this.phase = LITERAL
            this.literalLength = 0
            this.literal = 0
            this.number = 0
            this.numberValid = true
          }
          break
        }
        case VALUE_STRING: {
          const next = this.string(b, i, end, this.slot >= 0 ? 2 : 0)
          if (next < 0) return
          this.endString()
          this.phase = AFTER
          i = next
          break
        }
        case LITERAL: {
          const c = b[i]!
          if (isSpace(c) || c === 0x2c || c === 0x7d || c === 0x5d) {
            this.endLiteral()
            this.phase = AFTER
          } else {
            this.literalByte(c)
            i++
          }
          break
        }
        case AFTER: {
          const c = b[i]!
          if (isSpace(c)) i++
          else if (c === 0x2c) {
            this.phase = KEY
            i++
          } else if (c === 0x7d) {
            this.close()
            i++
          } else this.phase = BAD
          break
        }
        case SKIP: {
          // Inside a value that is none of ours: only brackets and strings matter.
          while (i < end) {
            const c = b[i]!
            if (c === quote) {
              this.phase = SKIP_STRING
              i++
              break
            }
            if (c === 0x7b || c === 0x5b) this.skipDepth++
            else if ((c === 0x7d || c === 0x5d) && --this.skipDepth === 0) {
              this.phase = AFTER
              i++
              break
            }
            i++
          }
          break
        }
        case SKIP_STRING: {
          const next = this.string(b, i, end, 0)
          if (next < 0) return
          this.phase = SKIP
          i = next
          break
        }
        case DONE: {
          if (isSpace(b[i]!)) i++
          else this.phase = BAD
          break
        }
        default:
          // BAD: the rest of this object (line) is ignored.
          return
      }
    }
  }

  /**
   * Reads a string up to its closing quote (from just after the opening one, or where the last chunk left off):
   * `into` 0 skips it, 1 keeps it as the key, 2 as the value (escapes kept raw). Returns the index after the closing
   * quote, or -1 when the string goes on past `end`.
   */
  private string(b: Buffer, i: number, end: number, into: 0 | 1 | 2): number {
    if (this.escaped) {
      // The last chunk ended on a backslash: this byte is escaped, whatever it is.
      this.escaped = false
      if (into !== 0) this.keep(b, i, i + 1, into)
      i++
      if (i >= end && into !== 0) this.materialise()
    }
    // Buffer.indexOf finds the next quote at memchr speed; a quote after an odd run of backslashes is escaped.
    while (i < end) {
      let close = b.indexOf(quote, i)
      if (close >= end) close = -1
      const stop = close < 0 ? end : close
      let run = stop
      while (run > i && b[run - 1] === backslash) run--
      const escapedStop = (stop - run) % 2 === 1
      if (into !== 0) this.keep(b, i, close >= 0 && escapedStop ? stop + 1 : stop, into)
      if (close < 0) {
        this.escaped = escapedStop
        if (into !== 0) this.materialise()
        return -1
      }
      if (!escapedStop) return close + 1
      i = close + 1
    }
    return -1
  }

  private startCapture(): void {
    this.span = undefined
    this.spanFrom = 0
    this.spanTo = 0
    this.overflow = false
  }

  private keep(b: Buffer, from: number, to: number, into: 1 | 2): void {
    if (this.overflow) return
    const have = this.spanTo - this.spanFrom
    const length = to - from
    if (have + length > (into === 1 ? maxKeyBytes : maxTextBytes)) {
      this.overflow = true // A key too long to be one of ours, or a text too long to keep.
      return
    }
    if (this.span === undefined || have === 0) {
      this.span = b
      this.spanFrom = from
      this.spanTo = to
    } else if (this.span === b && this.spanTo === from) {
      this.spanTo = to
    } else {
      this.materialise()
      b.copy(this.scratch!, this.spanTo, from, to)
      this.spanTo += length
    }
  }

  /** Copies what the span shows of a chunk into the scratch buffer, before the chunk is gone. */
  private materialise(): void {
    const span = this.span
    if (span === undefined || span === this.scratch) return
    this.scratch ??= Buffer.allocUnsafe(maxTextBytes)
    span.copy(this.scratch, 0, this.spanFrom, this.spanTo)
    this.span = this.scratch
    this.spanTo -= this.spanFrom
    this.spanFrom = 0
  }

  private chooseSlot(): void {
    this.slot = -1
    this.slotNested = false
    const span = this.span
    if (this.overflow || span === undefined) return
    const from = this.spanFrom
    const to = this.spanTo
    const length = to - from
    const nestedKey = this.nestedKey
    if (this.level === 1 && nestedKey && nestedKey.length === length && nestedKey.compare(span, from, to) === 0) {
      this.slotNested = true
      return
    }
    const first = this.level === 1 ? 0 : this.topCount
    const last = this.level === 1 ? this.topCount : this.names.length
    for (let slot = first; slot < last; slot++) {
      const name = this.names[slot]!
      if (name.length === length && name.compare(span, from, to) === 0) {
        this.slot = slot
        return
      }
    }
  }

  /** The value of a field of ours is not of its kind: a count becomes unknown, a text unreadable. */
  private setUnreadable(): void {
    const slot = this.slot
    if (slot < 0) return
    if (this.kinds[slot] === 'count') this.counts[slot] = undefined
    else this.texts[slot] = null
  }

  private endString(): void {
    const slot = this.slot
    if (slot < 0) return
    if (this.kinds[slot] === 'count' || this.overflow) return this.setUnreadable()
    const span = this.span
    const from = this.spanFrom
    const to = this.spanTo
    if (span === undefined || to === from) {
      this.texts[slot] = ''
      return
    }
    const slash = span.indexOf(backslash, from)
    if (slash < 0 || slash >= to) {
      this.texts[slot] = span.toString('utf8', from, to)
      return
    }
    try {
      this.texts[slot] = JSON.parse(`"${span.toString('utf8', from, to)}"`) as string
    } catch {
      this.texts[slot] = null
    }
  }

  private literalByte(c: number): void {
    if (this.slot < 0) return
    // Only `null` matters as text; counts are computed digit by digit.
    if (this.literalLength < 4) this.literal = this.literal * 256 + c
    this.literalLength++
    if (!this.numberValid) return
    if (c < 0x30 || c > 0x39 || (this.literalLength > 1 && this.number === 0)) {
      this.numberValid = false
      return
    }
    this.number = this.number * 10 + (c - 0x30)
    if (this.number > Number.MAX_SAFE_INTEGER) this.numberValid = false
  }

  private endLiteral(): void {
    const slot = this.slot
    if (slot < 0) return
    if (this.kinds[slot] === 'count') {
      this.counts[slot] = this.numberValid && this.literalLength > 0 ? this.number : undefined
      return
    }
    // A text field that is null is absent (as Go decodes it); any other literal is not a string.
    const isNull = this.literalLength === 4 && this.literal === nullLiteral
    this.texts[slot] = isNull ? undefined : null
  }

  private close(): void {
    if (this.level === 2) {
      this.level = 1
      this.phase = AFTER
      return
    }
    this.level = 0
    this.phase = DONE
  }
}
