// `keep_alive` read the way Ollama's api.Duration reads it: a number is seconds, a string is a Go duration ("5m",
// "1h30m", "0"), anything negative means "keep loaded forever" (Infinity here), null means "not given". A value Go
// refuses becomes Ollama's 400 message, so a test can check the emulator refuses exactly what Ollama refuses.

/** Milliseconds per Go duration unit (time.ParseDuration's table). */
const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

export type Parsed = { ms: number } | { error: string }

/** Go's time.ParseDuration, in milliseconds, with its error messages. */
export function parseGoDuration(text: string): Parsed {
  const quoted = JSON.stringify(text)
  const invalid = { error: `time: invalid duration ${quoted}` }
  let rest = text
  const negative = rest.startsWith('-')
  if (negative || rest.startsWith('+')) rest = rest.slice(1)
  if (rest === '0') return { ms: 0 }
  if (rest === '') return invalid
  let total = 0
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!
    if (number[1] === '' && (number[2] ?? '') === '') return invalid
    rest = rest.slice(number[0].length)
    const unit = /^[^\d.]*/.exec(rest)![0]
    if (unit === '') return { error: `time: missing unit in duration ${quoted}` }
    const scale = unitMs[unit]
    if (scale === undefined) return { error: `time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}` }
    rest = rest.slice(unit.length)
    total += Number(`${number[1] || '0'}.${number[2] ?? ''}0`) * scale
  }
  return { ms: negative ? -total : total }
}

/** Go's reflect type names for the JSON values api.Duration refuses. */
function goTypeName(value: unknown): string {
  if (typeof value === 'boolean') return 'bool'
  if (Array.isArray(value)) return '[]interface {}'
  return 'map[string]interface {}'
}

/**
 * A request's keep_alive in milliseconds (Infinity: forever), undefined when absent or null (the model keeps the
 * duration it has), or Ollama's error for a value it refuses.
 */
export function readKeepAlive(value: unknown): { ms: number | undefined } | { error: string } {
  if (value === undefined || value === null) return { ms: undefined }
  if (typeof value === 'number') return { ms: value < 0 ? Infinity : value * 1000 }
  if (typeof value !== 'string') return { error: `Unsupported type: '${goTypeName(value)}'` }
  const parsed = parseGoDuration(value)
  if ('error' in parsed) return parsed
  return { ms: parsed.ms < 0 ? Infinity : parsed.ms }
}
