// Turns Ajv's account of a body that failed its schema into one refusal naming the first bad field: its JSON pointer,
// what the field must be, and what it was. Ajv stops at the first failing keyword, but a union (anyOf) reports every
// branch: the deepest error is the one that says what is wrong (a bad role inside the parts of a message's content,
// not "content is not a string"), and among equals the union's own summary.
import type { ErrorObject } from 'ajv'
import { FieldRefusal } from '../errors.js'

/** The pointer an error names: for a missing field, the field's own. */
function pointerOf(error: ErrorObject): string {
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty: string }).missingProperty)
    return `${error.instancePath}/${missing.replaceAll('~', '~0').replaceAll('/', '~1')}`
  }
  return error.instancePath
}

function depth(pointer: string): number {
  let count = 0
  for (let i = 0; i < pointer.length; i++) if (pointer.charCodeAt(i) === 0x2f) count++
  return count
}

/** The error that best says what is wrong: the deepest; at one depth the last (a union's summary comes last). */
function chosen(errors: readonly ErrorObject[]): ErrorObject {
  let best = errors[0]!
  let bestDepth = -1
  for (const error of errors) {
    // "must match the then schema" only wraps the error that says why.
    if (error.keyword === 'if') continue
    const at = depth(pointerOf(error))
    if (at >= bestDepth) {
      best = error
      bestDepth = at
    }
  }
  return best
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
}

/** A short account of a value for a message (never the whole of a long string). */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (value !== null && typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

/** What the value must be, from the failing keyword. */
function requirement(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return 'is required'
    case 'type': {
      const types = ([] as string[]).concat(params.type as string | string[]).filter((kind) => kind !== 'null')
      return `must be ${types.map((kind) => typeNames[kind] ?? kind).join(' or ')}`
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).filter((value) => value !== null)
      return `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`
    }
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`
    case 'minimum':
      return `must be at least ${String(params.limit)}`
    case 'maximum':
      return `must be at most ${String(params.limit)}`
    case 'exclusiveMinimum':
      return `must be more than ${String(params.limit)}`
    case 'exclusiveMaximum':
      return `must be less than ${String(params.limit)}`
    case 'anyOf':
    case 'oneOf': {
      const described = (error.parentSchema as { description?: unknown } | undefined)?.description
      return `must be ${typeof described === 'string' ? described : 'of an accepted shape'}`
    }
    default:
      return error.message ?? 'is not valid'
  }
}

/** The refusal for a body whose schema failed (`errors` as Ajv left them; verbose, so each carries its value). */
export function fieldRefusal(errors: readonly ErrorObject[]): FieldRefusal {
  const error = chosen(errors)
  const pointer = pointerOf(error)
  const got = error.keyword === 'required' ? '' : ` (got ${shown(error.data)})`
  return new FieldRefusal(pointer, `invalid request: ${pointer || 'the body'} ${requirement(error)}${got}`)
}
