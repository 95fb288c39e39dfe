// The pieces the request schemas are made of (plain JSON Schema objects, compiled once by Ajv in validator.ts). Every
// field may be null: Go's encoding/json leaves a field as it was on null (no error), and OpenAI takes null for an
// optional field as "not given". Unknown keys always pass (no additionalProperties anywhere): Ollama adds fields and
// options often, and a gateway that refused them would break the next client release.

/** A JSON Schema object as Ajv takes it (kept loose: the schemas are data, checked by Ajv's strict mode at start). */
export type Schema = Record<string, unknown>

/**
 * Parts several routes share (options, a chat message, a tool, keep_alive), by id: each is compiled once and called
 * from every schema that refers to it, instead of being compiled again inside each (what made start-up slow).
 */
export const sharedSchemas = new Map<string, Schema>()

/** Registers a shared part under `id` and returns a reference to it. */
export function shared(id: string, schema: Schema): Schema {
  sharedSchemas.set(id, { ...schema, $id: id })
  return { $ref: id }
}

/** The schema a reference names (or the schema itself when it is no reference). */
export function resolved(schema: Schema): Schema {
  return typeof schema.$ref === 'string' ? (sharedSchemas.get(schema.$ref) ?? schema) : schema
}

/** Go's int is 64 bits: a larger number is refused by its decoder (a double cannot hold 2^63 - 1 exactly). */
const int64 = { minimum: -(2 ** 63), exclusiveMaximum: 2 ** 63 }

export const string: Schema = { type: ['string', 'null'] }
export const bool: Schema = { type: ['boolean', 'null'] }
export const number: Schema = { type: ['number', 'null'] }
/** A Go int (or *int): a whole number in int64's range. */
export const integer: Schema = { type: ['integer', 'null'], ...int64 }
/** A Go map or struct of unchecked content (json.RawMessage objects, map[string]any). */
export const object: Schema = { type: ['object', 'null'] }
export const stringArray: Schema = { type: ['array', 'null'], items: { type: 'string' } }

export function range(min: number, max: number): Schema {
  return { type: ['number', 'null'], minimum: min, maximum: max }
}

export function atLeast(min: number): Schema {
  return { type: ['number', 'null'], minimum: min }
}

export function integerRange(min: number, max: number): Schema {
  return { type: ['integer', 'null'], minimum: min, maximum: max }
}

/** One of fixed strings (an enum), or null. */
export function oneOfStrings(values: readonly string[]): Schema {
  return { enum: [...values, null] }
}

/** A Go struct or JSON object with these typed fields; `required` ones must be present and not null. */
export function struct(properties: Record<string, Schema>, required: string[] = []): Schema {
  const schema: Schema = { type: ['object', 'null'], properties }
  if (required.length > 0) {
    schema.type = 'object'
    schema.required = required
    // A required field given as null is as missing as an absent one.
    for (const name of required) properties[name] = notNull(properties[name]!)
  }
  return schema
}

/** An array of items (or null). */
export function arrayOf(items: Schema, extra: Schema = {}): Schema {
  return { type: ['array', 'null'], items, ...extra }
}

/** A schema without its null: for array items and required fields. */
export function notNull(schema: Schema): Schema {
  const type = schema.type
  if (Array.isArray(type)) {
    const types = type.filter((kind) => kind !== 'null')
    return { ...schema, type: types.length === 1 ? types[0] : types }
  }
  if (Array.isArray(schema.enum)) return { ...schema, enum: schema.enum.filter((value) => value !== null) }
  if (Array.isArray(schema.anyOf)) return { ...schema, anyOf: (schema.anyOf as Schema[]).map(notNull) }
  return schema
}

/**
 * Shapes a value may take (the first that matches wins, as a decoder tries them); `description` says them all in a
 * refusal.
 */
export function either(description: string, ...shapes: Schema[]): Schema {
  return { description, anyOf: shapes }
}

/**
 * A Go time.Duration as Ollama's api.Duration reads it: a number of seconds (negative: forever) or a string that
 * time.ParseDuration takes ("5m", "1h30m", "0", "-1s", ".5s"); a unit is required except for "0".
 */
export const goDuration: Schema = shared(
  'go-duration',
  either(
    'a number of seconds or a duration string such as "5m" or "1h30m"',
    { type: ['number', 'null'] },
    { type: 'string', pattern: '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$' },
  ),
)
