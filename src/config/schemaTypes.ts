// The building blocks of the config schema. A schema node knows its default, its documentation and how to turn a
// raw value (from YAML or an env var string) into a typed one, so defaults, validation and docs cannot drift apart.

export interface Problem {
  path: string
  value: unknown
  expected: string
}

/** Thrown inside a leaf parser; the walker adds the path and value. */
export class Expected extends Error {}

export interface LeafNode<T> {
  kind: 'leaf'
  doc: string
  default: T
  /** How the expected value is described in errors and docs. */
  expects: string
  secret?: boolean
  /** A change needs a restart: a reload reports it and keeps running with the old value. Unmarked keys reload live. */
  restart?: boolean
  parse(raw: unknown, fromEnv: boolean): T
  /** How the value is written in the documented YAML, when not as-is (durations as `30s`, sizes as `64MiB`). */
  format?(value: T): string
}

export interface SectionNode<F extends Fields = Fields> {
  kind: 'section'
  doc: string
  fields: F
  /** Every key of the section needs a restart to change (see LeafNode.restart). */
  restart?: boolean
}

export interface ListNode<I extends SectionNode = SectionNode> {
  kind: 'list'
  doc: string
  item: I
  /** Raw default items; parsed like user input so they obey the item schema. */
  default: unknown[]
  minItems: number
  /** An env var may give the list as JSON, or as a comma-separated list of values for this field. */
  envShorthandField: string
  /** A change of the list needs a restart (see LeafNode.restart). */
  restart?: boolean
}

export type SchemaNode = LeafNode<unknown> | SectionNode | ListNode
export type Fields = Record<string, SchemaNode>

export type Infer<N> =
  N extends LeafNode<infer T>
    ? T
    : N extends SectionNode<infer F>
      ? { [K in keyof F]: Infer<F[K]> }
      : N extends ListNode<infer I>
        ? Infer<I>[]
        : never

export function section<F extends Fields>(doc: string, fields: F, options: { restart?: boolean } = {}): SectionNode<F> {
  return { kind: 'section', doc, fields, ...options }
}

export function list<I extends SectionNode>(
  doc: string,
  item: I,
  options: { default: unknown[]; minItems: number; envShorthandField: string; restart?: boolean },
): ListNode<I> {
  return { kind: 'list', doc, item, ...options }
}

interface LeafOptions<T> {
  doc: string
  default: T
  secret?: boolean
  restart?: boolean
}

export function integer(options: LeafOptions<number> & { min: number; max: number }): LeafNode<number> {
  const expects = `an integer from ${options.min} to ${options.max}`
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw, fromEnv) {
      const value = fromEnv && typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw
      if (typeof value !== 'number' || !Number.isInteger(value) || value < options.min || value > options.max) {
        throw new Expected(expects)
      }
      return value
    },
  }
}

export function decimal(options: LeafOptions<number> & { min: number; max: number }): LeafNode<number> {
  const expects = `a number from ${options.min} to ${options.max}`
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw, fromEnv) {
      const value = fromEnv && typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
      if (typeof value !== 'number' || !Number.isFinite(value) || value < options.min || value > options.max) {
        throw new Expected(expects)
      }
      return value
    },
  }
}

export function string(options: LeafOptions<string> & { pattern?: RegExp; describe?: string }): LeafNode<string> {
  const expects = options.describe ?? 'a string'
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw) {
      if (typeof raw !== 'string' || (options.pattern && !options.pattern.test(raw))) throw new Expected(expects)
      return raw
    },
  }
}

export function oneOf<const V extends string>(options: LeafOptions<V> & { values: readonly V[] }): LeafNode<V> {
  const expects = `one of ${options.values.join(', ')}`
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw) {
      if (typeof raw !== 'string' || !(options.values as readonly string[]).includes(raw)) throw new Expected(expects)
      return raw as V
    },
  }
}

export function boolean(options: LeafOptions<boolean>): LeafNode<boolean> {
  const expects = 'true or false'
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw, fromEnv) {
      if (typeof raw === 'boolean') return raw
      if (fromEnv && typeof raw === 'string') {
        const text = raw.trim().toLowerCase()
        if (text === 'true' || text === '1') return true
        if (text === 'false' || text === '0') return false
      }
      throw new Expected(expects)
    },
  }
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/

/** A duration in milliseconds, written as `250ms`, `30s`, `5m`, `1h`, `7d` or a bare number of milliseconds. */
export function duration(options: LeafOptions<number> & { min?: number; zeroMeansNone?: boolean }): LeafNode<number> {
  const min = options.min ?? 0
  const expects = `a duration such as 500ms, 30s, 5m, 1h or 7d (at least ${min}ms${options.zeroMeansNone ? '; 0 = none' : ''})`
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw) {
      const ms = withUnit(raw, durationPattern, durationUnits, 'ms')
      if (ms === undefined || !Number.isInteger(ms)) throw new Expected(expects)
      if (ms < min && !(options.zeroMeansNone && ms === 0)) throw new Expected(expects)
      return ms
    },
    format: (ms) =>
      largestUnit(ms, [
        ['d', 86_400_000],
        ['h', 3_600_000],
        ['m', 60_000],
        ['s', 1000],
        ['ms', 1],
      ]),
  }
}

const sizeUnits: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }

/** A size in bytes, written as `64MiB`, `512KB` or a bare number of bytes. */
export function bytes(options: LeafOptions<number> & { min: number; max: number }): LeafNode<number> {
  const expects = `a size such as 512KiB, 64MiB or a number of bytes, from ${options.min} to ${options.max}`
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw) {
      const size = withUnit(raw, /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i, sizeUnits, 'b')
      if (size === undefined || !Number.isInteger(size) || size < options.min || size > options.max) {
        throw new Expected(expects)
      }
      return size
    },
    format: (size) =>
      largestUnit(size, [
        ['GiB', 1024 ** 3],
        ['MiB', 1024 ** 2],
        ['KiB', 1024],
        ['', 1],
      ]),
  }
}

/** An http(s) base URL without query or fragment; returned normalised without a trailing slash. */
export function httpUrl(options: LeafOptions<string>): LeafNode<string> {
  const expects = 'an http:// or https:// URL such as http://127.0.0.1:11434'
  return {
    kind: 'leaf',
    expects,
    ...options,
    parse(raw) {
      if (typeof raw !== 'string') throw new Expected(expects)
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        throw new Expected(expects)
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
        throw new Expected(`${expects}, without query, fragment or credentials`)
      }
      return url.href.replace(/\/+$/, '')
    },
  }
}

/** Writes a value in the largest unit that divides it exactly (0 stays 0). */
function largestUnit(value: number, units: [string, number][]): string {
  if (value === 0) return '0'
  const [name, size] = units.find(([, unitSize]) => value % unitSize === 0)!
  return `${value / size}${name}`
}

/** A bare number, or a string of a number and an optional unit (matched by `pattern`'s two groups). */
function withUnit(raw: unknown, pattern: RegExp, units: Record<string, number>, bare: string): number | undefined {
  if (typeof raw === 'number') return raw
  if (typeof raw !== 'string') return undefined
  const match = pattern.exec(raw)
  return match ? Number(match[1]) * units[(match[2] ?? bare).toLowerCase()]! : undefined
}

/** Parses a duration as the config does (`30s`, `24h`, `30d`); undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const ms = withUnit(text, durationPattern, durationUnits, 'ms')
  return ms !== undefined && Number.isInteger(ms) ? ms : undefined
}

/** `7d` -> 7 days before `now`; `2026-11-01` or an ISO time -> that instant; undefined when it is neither. */
export function parseInstant(text: string, now = Date.now()): number | undefined {
  const ago = parseDuration(text)
  if (ago !== undefined) return now - ago
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : at
}
