// The usage rows' way from the event loop to the writer thread without a structured clone: a ring of fixed-size slots
// in shared memory (numbers in one Float64Array, string tags in one Int32Array) and a byte arena for the strings,
// UTF-8. Strings that repeat (API, route, model, backend, error code, user, key, address) are interned: the first
// time one is seen it travels inline and defines the next id, afterwards only the id travels; the writer reads the
// ring strictly in order, so it always knows a definition before its use. The table is bounded (a client names any
// model it likes): once full, new strings travel inline every time. Request ids always travel inline.
//
// One producer (the event loop) and one consumer (the writer): the producer only writes past `rowHead` and publishes
// it with an atomic store before telling the writer to flush; the consumer only reads below the published head and
// gives slots back by storing `rowTail`. Counters are unsigned 32-bit and wrap; sizes are powers of two.
import type { TokenSource, UsageRow } from './usageRow.js'

/** Rows the ring holds (a power of two): about 0.8 s of 20,000 rows/s before rows take the queued path. */
export const ringRows = 16_384
/** Bytes of strings the ring holds (a power of two); a checked row needs at most 9 × 512 × 3 bytes. */
export const ringBytes = 4 * 1024 * 1024
/** Strings interned at most; past this, new strings travel inline. */
export const maxInterned = 4096

const textFields = [
  'requestId',
  'username',
  'keyId',
  'api',
  'route',
  'model',
  'backend',
  'errorCode',
  'clientIp',
] as const
/** The row's numbers, in slot order; null is NaN (a checked row never holds NaN). */
const numberFields = [
  'time',
  'userId',
  'status',
  'promptTokens',
  'completionTokens',
  'tokens',
  'ttfbMs',
  'durationMs',
  'bytesIn',
  'bytesOut',
  'clientAborted',
  'cost',
  'queueMs',
  'cache',
  'freeTokens',
] as const

const numbersPerRow = numberFields.length
/** Per string field: a tag and a byte length; then where the row's strings start and where the arena head is after. */
const intsPerRow = textFields.length * 2 + 2

const isNull = -1
const inline = -2
/** Inline, and defines the next interned id. */
const define = -3

const tokenCodes: TokenSource[] = ['exact', 'estimated', 'unknown', 'none']
/** The cache column: 0 is null. */
const cacheCodes: UsageRow['cache'][] = [null, 'hit', 'miss', 'bypass']
const tokenCode: Record<TokenSource, number> = { exact: 0, estimated: 1, unknown: 2, none: 3 }

/** Header words: published row head, consumed row tail, consumed byte tail. */
const rowHeadWord = 0
const rowTailWord = 1
const byteTailWord = 2

/** The shared memory, as handed to the writer in workerData. */
export interface RingMemory {
  header: SharedArrayBuffer
  numbers: SharedArrayBuffer
  ints: SharedArrayBuffer
  bytes: SharedArrayBuffer
}

export function createRingMemory(rows = ringRows, bytes = ringBytes): RingMemory {
  if ((rows & (rows - 1)) !== 0 || (bytes & (bytes - 1)) !== 0) throw new Error('ring sizes must be powers of two')
  return {
    header: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
    numbers: new SharedArrayBuffer(rows * numbersPerRow * Float64Array.BYTES_PER_ELEMENT),
    ints: new SharedArrayBuffer(rows * intsPerRow * Int32Array.BYTES_PER_ELEMENT),
    bytes: new SharedArrayBuffer(bytes),
  }
}

/** The event loop's end: writes checked rows into free slots. */
export class RingWriter {
  private readonly header: Int32Array
  private readonly numbers: Float64Array
  private readonly ints: Int32Array
  private readonly bytes: Buffer
  private readonly rowMask: number
  private readonly byteSize: number
  /** Next slot to write (unsigned, wraps); published to the writer by publish(). */
  private rowHead = 0
  private byteHead = 0
  /** The consumer's tails as last read: re-read only when the ring looks full. */
  private rowTail = 0
  private byteTail = 0
  private readonly interned = new Map<string, number>()
  /** The last string each field interned, and its id: most rows repeat their neighbour's. */
  private readonly lastText: (string | null)[] = textFields.map(() => null)
  private readonly lastId: number[] = textFields.map(() => 0)

  constructor(memory: RingMemory) {
    this.header = new Int32Array(memory.header)
    this.numbers = new Float64Array(memory.numbers)
    this.ints = new Int32Array(memory.ints)
    this.bytes = Buffer.from(memory.bytes)
    this.rowMask = this.numbers.length / numbersPerRow - 1
    this.byteSize = this.bytes.length
  }

  /** Rows written and not yet taken by the writer. */
  get used(): number {
    return (this.rowHead - this.rowTail) >>> 0
  }

  /** The row head to publish (counts every row ever written, mod 2^32). */
  get head(): number {
    return this.rowHead
  }

  /** Makes every row written so far visible to the writer; returns the head. */
  publish(): number {
    Atomics.store(this.header, rowHeadWord, this.rowHead | 0)
    return this.rowHead
  }

  /** Writes a checked row; false when there is no room (the caller queues it another way). */
  push(row: UsageRow): boolean {
    const slot = this.rowHead & this.rowMask
    if ((this.rowHead - this.rowTail) >>> 0 > this.rowMask) {
      this.rowTail = Atomics.load(this.header, rowTailWord) >>> 0
      if ((this.rowHead - this.rowTail) >>> 0 > this.rowMask) return false
    }
    // Room for the strings, all in one piece (a row never wraps around the arena's end): 3 UTF-8 bytes per UTF-16
    // unit at most. The worker thread imports this file too: it stays free of imports that load the proxy room.
    let need = 0
    for (let f = 0; f < textFields.length; f++) {
      const text = row[textFields[f]!]
      if (text !== null) need += text.length * 3
    }
    let start = this.byteHead & (this.byteSize - 1)
    const skip = start + need > this.byteSize ? this.byteSize - start : 0
    if ((this.byteHead + skip + need - this.byteTail) >>> 0 > this.byteSize) {
      this.byteTail = Atomics.load(this.header, byteTailWord) >>> 0
      if ((this.byteHead + skip + need - this.byteTail) >>> 0 > this.byteSize) return false
    }
    if (skip > 0) start = 0
    const n = slot * numbersPerRow
    const numbers = this.numbers
    numbers[n] = row.time
    numbers[n + 1] = row.userId ?? NaN
    numbers[n + 2] = row.status
    numbers[n + 3] = row.promptTokens ?? NaN
    numbers[n + 4] = row.completionTokens ?? NaN
    numbers[n + 5] = tokenCode[row.tokens]
    numbers[n + 6] = row.ttfbMs ?? NaN
    numbers[n + 7] = row.durationMs
    numbers[n + 8] = row.bytesIn
    numbers[n + 9] = row.bytesOut
    numbers[n + 10] = row.clientAborted ? 1 : 0
    numbers[n + 11] = row.cost
    numbers[n + 12] = row.queueMs
    numbers[n + 13] = row.cache === null ? 0 : cacheCodes.indexOf(row.cache)
    numbers[n + 14] = row.freeTokens ? 1 : 0
    const i = slot * intsPerRow
    let at = start
    for (let f = 0; f < textFields.length; f++) {
      const text = row[textFields[f]!]
      const tag = i + f * 2
      if (text === null) {
        this.ints[tag] = isNull
        continue
      }
      const id = f === 0 ? -1 : this.idOf(f, text)
      if (id >= 0) {
        this.ints[tag] = id
        continue
      }
      const length = this.bytes.write(text, at)
      this.ints[tag] = id === -1 ? inline : define
      this.ints[tag + 1] = length
      at += length
    }
    this.ints[i + intsPerRow - 2] = start
    this.byteHead = (this.byteHead + skip + (at - start)) >>> 0
    this.ints[i + intsPerRow - 1] = this.byteHead | 0
    this.rowHead = (this.rowHead + 1) >>> 0
    return true
  }

  /** The string's interned id; -1: send inline; -2: send inline, defining the next id. */
  private idOf(field: number, text: string): number {
    if (this.lastText[field] === text) return this.lastId[field]!
    const id = this.interned.get(text)
    if (id !== undefined) {
      this.lastText[field] = text
      this.lastId[field] = id
      return id
    }
    if (this.interned.size >= maxInterned) return -1
    const next = this.interned.size
    this.interned.set(text, next)
    this.lastText[field] = text
    this.lastId[field] = next
    return -2
  }
}

/** The writer thread's end: reads published rows in order and gives their slots back. */
export class RingReader {
  private readonly header: Int32Array
  private readonly numbers: Float64Array
  private readonly ints: Int32Array
  private readonly bytes: Buffer
  private readonly rowMask: number
  private rowTail = 0
  private readonly names: string[] = []

  constructor(memory: RingMemory) {
    this.header = new Int32Array(memory.header)
    this.numbers = new Float64Array(memory.numbers)
    this.ints = new Int32Array(memory.ints)
    this.bytes = Buffer.from(memory.bytes)
    this.rowMask = this.numbers.length / numbersPerRow - 1
  }

  /** Takes the rows published up to `upto` (a head the producer published), appending them to `into`. */
  take(upto: number, into: UsageRow[]): void {
    const published = Atomics.load(this.header, rowHeadWord) >>> 0
    // Never past what was published: `upto` was published before the message that carries it was sent.
    const end = (upto - this.rowTail) >>> 0 <= (published - this.rowTail) >>> 0 ? upto >>> 0 : published
    if (this.rowTail === end) return
    let byteTail = 0
    while (this.rowTail !== end) {
      const slot = this.rowTail & this.rowMask
      into.push(this.read(slot))
      byteTail = this.ints[slot * intsPerRow + intsPerRow - 1]!
      this.rowTail = (this.rowTail + 1) >>> 0
    }
    // Bytes and slots go back only once the rows were copied out (bytes first: a slot given back may be refilled).
    Atomics.store(this.header, byteTailWord, byteTail)
    Atomics.store(this.header, rowTailWord, this.rowTail | 0)
  }

  private read(slot: number): UsageRow {
    const n = slot * numbersPerRow
    const numbers = this.numbers
    const i = slot * intsPerRow
    let at = this.ints[i + intsPerRow - 2]!
    const text: (string | null)[] = []
    for (let f = 0; f < textFields.length; f++) {
      const tag = this.ints[i + f * 2]!
      if (tag === isNull) text.push(null)
      else if (tag >= 0) text.push(this.names[tag] ?? null)
      else {
        const length = this.ints[i + f * 2 + 1]!
        const value = this.bytes.toString('utf8', at, at + length)
        at += length
        if (tag === define) this.names.push(value)
        text.push(value)
      }
    }
    const orNull = (value: number) => (Number.isNaN(value) ? null : value)
    return {
      time: numbers[n]!,
      requestId: text[0]!,
      userId: orNull(numbers[n + 1]!),
      username: text[1]!,
      keyId: text[2]!,
      api: text[3]!,
      route: text[4]!,
      model: text[5]!,
      backend: text[6]!,
      status: numbers[n + 2]!,
      errorCode: text[7]!,
      promptTokens: orNull(numbers[n + 3]!),
      completionTokens: orNull(numbers[n + 4]!),
      tokens: tokenCodes[numbers[n + 5]!]!,
      ttfbMs: orNull(numbers[n + 6]!),
      durationMs: numbers[n + 7]!,
      queueMs: numbers[n + 12]!,
      bytesIn: numbers[n + 8]!,
      bytesOut: numbers[n + 9]!,
      clientIp: text[8]!,
      clientAborted: numbers[n + 10] === 1,
      cost: numbers[n + 11]!,
      cache: cacheCodes[numbers[n + 13]!] ?? null,
      freeTokens: numbers[n + 14] === 1,
    }
  }
}
