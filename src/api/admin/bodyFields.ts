// Reading an admin request's JSON body and query into typed values: each wrong field is a 400 naming it and what it
// must be, and a field the route does not take is refused (a typo such as "rol" must not pass as "no change").
// Throws GatewayError; jsonRoute answers it as a problem.
import { GatewayError } from '../../errors.js'

type Body = Record<string, unknown>

/** Refuses any field not in `allowed`. */
export function onlyFields(body: Body, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((name) => !allowed.includes(name))
  if (unknown.length > 0) {
    throw new GatewayError(
      'invalid_request',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; ` +
        `this route takes ${allowed.map((name) => `"${name}"`).join(', ') || 'no body'}`,
    )
  }
}

function wrong(name: string, expected: string): GatewayError {
  return new GatewayError('invalid_request', `"${name}" must be ${expected}`)
}

/** A non-empty string, or undefined when absent; `nullable`: null passes as null. */
export function stringOf(body: Body, name: string, options: { nullable: true }): string | null | undefined
export function stringOf(body: Body, name: string, options?: { nullable?: false }): string | undefined
export function stringOf(body: Body, name: string, options: { nullable?: boolean } = {}) {
  const value = body[name]
  if (value === undefined || (options.nullable && value === null)) return value
  if (typeof value !== 'string' || value === '') {
    throw wrong(name, options.nullable ? 'a non-empty string or null' : 'a non-empty string')
  }
  return value
}

export function requiredString(body: Body, name: string): string {
  const value = stringOf(body, name)
  if (value === undefined) throw new GatewayError('invalid_request', `"${name}" is required`)
  return value
}

export function booleanOf(body: Body, name: string): boolean | undefined {
  const value = body[name]
  if (value === undefined || typeof value === 'boolean') return value
  throw wrong(name, 'true or false')
}

export function numberOf(body: Body, name: string): number | undefined {
  const value = body[name]
  if (value === undefined || (typeof value === 'number' && Number.isFinite(value))) return value
  throw wrong(name, 'a number')
}

export function oneOf<T extends string>(body: Body, name: string, values: readonly T[]): T | undefined {
  const value = body[name]
  if (value === undefined || (values as readonly unknown[]).includes(value)) return value as T | undefined
  throw wrong(name, `one of ${values.map((item) => `"${item}"`).join(', ')}`)
}

/** A list of non-empty strings; `nullable`: null passes as null. */
export function stringListOf(body: Body, name: string): string[] | null | undefined {
  const value = body[name]
  if (value === undefined || value === null) return value
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '')) return value as string[]
  throw wrong(name, 'a list of non-empty strings, or null')
}

/** `allow_ip`: a list of address ranges (checked when stored), null for every address, undefined when absent. */
export function allowIpOf(body: Body): string[] | null | undefined {
  return stringListOf(body, 'allow_ip')
}

/** A query's parameters as a body (one value each: a repeated parameter is refused, not silently picked). */
export function queryFields(query: string): Body {
  const params = new URLSearchParams(query)
  const fields: Body = {}
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name)
    if (values.length > 1) throw new GatewayError('invalid_request', `"${name}" is given ${values.length} times`)
    fields[name] = values[0]
  }
  return fields
}
