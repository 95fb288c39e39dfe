// Every usage row is checked before it is queued, so that no value can make the writer fail: counts are integers in
// [0, maxRowTokens], times and sizes finite and non-negative, the token source one of four, strings bounded. A field
// that is not is made safe (a count becomes unknown, a string is cut) and the row is still recorded; what was wrong is
// returned so that it can be logged and counted. Rows are checked in place: a good row costs no allocation.
import { maxTokenCount } from '../proxy/usageSniffer.js'
import type { TokenSource, UsageRow } from './usageRow.js'

/** No request uses more tokens than this; a larger count is a backend's fault and recorded as unknown. */
export const maxRowTokens = maxTokenCount
/** The longest string a usage row stores (a model name, a request id, a user name...), in UTF-16 units. */
export const maxRowText = 512
/** Times in ms above this (about 30 years) are not a request's. */
const maxMs = 1e12

const tokenSources: ReadonlySet<unknown> = new Set<TokenSource>(['exact', 'estimated', 'unknown', 'none'])

function isCount(value: unknown, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= maxMs // NaN fails both comparisons.
}

/** Makes the row safe to write; returns the names of the fields that were not (undefined: all were). */
export function checkUsageRow(row: UsageRow, now: number): string[] | undefined {
  let wrong: string[] | undefined
  const fix = (field: string) => (wrong ??= []).push(field)
  if (!isCount(row.time, Number.MAX_SAFE_INTEGER)) {
    fix('time')
    row.time = now
  }
  if (typeof row.requestId !== 'string' || row.requestId.length > maxRowText) {
    fix('requestId')
    row.requestId = typeof row.requestId === 'string' ? row.requestId.slice(0, maxRowText) : 'unknown'
  }
  if (row.userId !== null && !isCount(row.userId, Number.MAX_SAFE_INTEGER)) {
    fix('userId')
    row.userId = null
  }
  if (!isText(row.username)) row.username = text(row.username, 'username', fix)
  if (!isText(row.keyId)) row.keyId = text(row.keyId, 'keyId', fix)
  if (!isText(row.model)) row.model = text(row.model, 'model', fix)
  if (!isText(row.backend)) row.backend = text(row.backend, 'backend', fix)
  if (!isText(row.errorCode)) row.errorCode = text(row.errorCode, 'errorCode', fix)
  if (!isText(row.clientIp)) row.clientIp = text(row.clientIp, 'clientIp', fix)
  if (typeof row.api !== 'string' || row.api.length === 0 || row.api.length > maxRowText) {
    row.api = text(row.api, 'api', fix) || 'unknown'
  }
  if (typeof row.route !== 'string' || row.route.length === 0 || row.route.length > maxRowText) {
    row.route = text(row.route, 'route', fix) || 'unknown'
  }
  if (!Number.isInteger(row.status) || row.status < 0 || row.status > 999) {
    fix('status')
    row.status = 0
  }
  if (!tokenSources.has(row.tokens)) {
    fix('tokens')
    row.tokens = 'unknown'
  }
  if (row.promptTokens !== null && !isCount(row.promptTokens, maxRowTokens)) {
    fix('promptTokens')
    row.promptTokens = null
    if (row.tokens !== 'none') row.tokens = 'unknown'
  }
  if (row.completionTokens !== null && !isCount(row.completionTokens, maxRowTokens)) {
    fix('completionTokens')
    row.completionTokens = null
    if (row.tokens !== 'none') row.tokens = 'unknown'
  }
  if (row.ttfbMs !== null && !isDuration(row.ttfbMs)) {
    fix('ttfbMs')
    row.ttfbMs = null
  }
  if (!isDuration(row.durationMs)) {
    fix('durationMs')
    row.durationMs = 0
  }
  if (!isCount(row.queueMs, maxMs)) {
    // The column holds whole ms: a fraction, like a negative or non-finite wait, is not one the queue measured.
    fix('queueMs')
    row.queueMs = 0
  }
  if (!isCount(row.bytesIn, Number.MAX_SAFE_INTEGER)) {
    fix('bytesIn')
    row.bytesIn = 0
  }
  if (!isCount(row.bytesOut, Number.MAX_SAFE_INTEGER)) {
    fix('bytesOut')
    row.bytesOut = 0
  }
  if (typeof row.clientAborted !== 'boolean') {
    fix('clientAborted')
    row.clientAborted = row.clientAborted === true
  }
  if (!isDuration(row.cost)) {
    // Cost is money, not time, but the same bound holds: finite, non-negative, far from float trouble.
    fix('cost')
    row.cost = 0
  }
  if (row.cache !== null && !cacheOutcomes.has(row.cache)) {
    fix('cache')
    row.cache = null
  }
  if (typeof row.freeTokens !== 'boolean') {
    fix('freeTokens')
    row.freeTokens = false
  }
  return wrong
}

const cacheOutcomes: ReadonlySet<unknown> = new Set(['hit', 'miss', 'bypass'])

function isText(value: unknown): boolean {
  return value === null || (typeof value === 'string' && value.length <= maxRowText)
}

/** A nullable text field made safe: a string cut to the bound, anything else (undefined, a number...) null. */
function text(value: unknown, field: string, fix: (field: string) => void): string | null {
  fix(field)
  return typeof value === 'string' ? value.slice(0, maxRowText) : null
}
