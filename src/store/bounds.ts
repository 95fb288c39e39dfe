// Bounds on every value a client can have stored through the identity tables (issue 11, #10): text is length- and
// charset-limited, instants must be dates JavaScript can show. Checked by the stores themselves, the one door every
// writer (the /auth API, the CLI) passes, so nothing unbounded is ever written whoever asks.
import { isWeight, weightExpected } from '../auth/weights.js'
import { parseDuration } from '../config/schemaTypes.js'
import { GatewayError } from '../errors.js'

/** The latest instant a Date can hold (ms since epoch): ±8.64e15, ECMA-262 §21.4.1.1. */
export const latestInstant = 8.64e15

/** The longest lifetime a client may ask for (a key's expiry, a rotation's grace): ten years. */
export const longestLifetimeMs = 10 * 365 * 86_400_000

/** A stored value that is out of its bounds: `400 invalid_request` over HTTP, exit 1 in the CLI. */
export class BoundsError extends GatewayError {
  constructor(message: string) {
    super('invalid_request', message)
  }
}

// C0 and C1 controls, DEL, line/paragraph separators, bidi overrides and isolates: nothing a log line, a terminal or
// a table should receive from a client. Tabs and newlines are allowed only where `multiline` says so.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
const lineBreaks = /[\t\n\r]/
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export interface TextBounds {
  /** Longest value in UTF-16 code units. */
  max: number
  /** Tabs and line breaks allowed (descriptions). */
  multiline?: boolean
}

/** `value` unchanged when it is within its bounds; otherwise a BoundsError naming `field`. */
export function checkText(field: string, value: string, bounds: TextBounds): string {
  if (typeof value !== 'string') throw new BoundsError(`"${field}" must be a string`)
  if (value.length > bounds.max) {
    throw new BoundsError(`"${field}" is too long: ${value.length} characters, at most ${bounds.max}`)
  }
  if (controls.test(value) || (!bounds.multiline && lineBreaks.test(value))) {
    throw new BoundsError(`"${field}" holds control characters`)
  }
  if (loneSurrogate.test(value)) {
    throw new BoundsError(`"${field}" is not valid Unicode (a lone surrogate)`)
  }
  return value
}

/** A user's weight under contention: a finite number within the bounds of src/auth/weights.ts. */
export function checkWeight(value: number): number {
  if (!isWeight(value)) throw new BoundsError(`"weight" must be ${weightExpected}, got ${String(value)}`)
  return value
}

/** An optional text: null and undefined stay null. */
export function checkOptionalText(field: string, value: string | null | undefined, bounds: TextBounds): string | null {
  return value === null || value === undefined ? null : checkText(field, value, bounds)
}

/** An instant a client chose (an expiry): an integer number of ms no later than `now` + the longest lifetime. */
export function checkInstant(field: string, value: number, now: number): number {
  if (!Number.isSafeInteger(value) || Math.abs(value) > latestInstant) {
    throw new BoundsError(`"${field}" is not a time a date can hold`)
  }
  if (value > now + longestLifetimeMs) throw new BoundsError(`"${field}" is more than ten years away`)
  return value
}

/**
 * The one parser of durations a client sends (a key's `expires_in`, a rotation's grace): `30d`, `12h`, `90m`, `45s`,
 * `500ms` or a bare number of ms, a whole number of ms, at most ten years; `allowZero` for "now". A BoundsError naming
 * `field` otherwise.
 */
export function parseLifetime(field: string, text: unknown, options: { allowZero?: boolean } = {}): number {
  const ms = typeof text === 'string' && text.length <= 32 ? parseDuration(text) : undefined
  const expected = `a duration such as "30d", "12h" or "90m"${options.allowZero ? ' (or "0")' : ''}`
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0) {
    throw new BoundsError(`"${field}" must be ${expected}, got ${describeValue(text)}`)
  }
  if (ms === 0 && !options.allowZero) throw new BoundsError(`"${field}" must be longer than 0`)
  if (ms > longestLifetimeMs) throw new BoundsError(`"${field}" is longer than the longest allowed, 3650d (ten years)`)
  return ms
}

function describeValue(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value
  return value.length > 32
    ? `${JSON.stringify(value.slice(0, 32))}… (${value.length} characters)`
    : JSON.stringify(value)
}

/** An instant read back from the database, made showable: clamped into the range a Date can hold. */
export function showableInstant(value: number): number {
  if (Number.isNaN(value)) return 0
  return Math.min(latestInstant, Math.max(-latestInstant, Math.trunc(value)))
}

/** ISO text of an instant read from the database; never throws, whatever the row holds. */
export function isoTime(value: number | null | undefined): string | null {
  return value === null || value === undefined ? null : new Date(showableInstant(value)).toISOString()
}

export const usernameBounds = { max: 64 }
export const emailBounds = { max: 254 }
export const displayNameBounds = { max: 100 }
export const keyNameBounds = { max: 100 }
export const keyDescriptionBounds = { max: 1000, multiline: true }
/** Entries in a key's model allow-list, and the length of one. */
export const maxModelPatterns = 100
/** Live (not revoked, not expired) keys one user may hold: keys are rows, and a user may not grow the database without end. */
export const maxLiveKeysPerUser = 1000
export const modelPatternBounds = { max: 200 }
