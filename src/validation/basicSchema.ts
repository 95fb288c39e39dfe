// `basic` validation: a route's strict schema cut down to the JSON types of its top-level fields (a string where a
// string goes, an array where messages go), without ranges, enums, required fields or anything nested. It catches the
// body a client built wrong at the top while costing almost nothing, for operators who want only that.
import { resolved, type Schema } from './schemaParts.js'

/** The JSON types a schema allows at its root (a union's types together); undefined when it does not say. */
function typesOf(reference: Schema): string[] | undefined {
  const schema = resolved(reference)
  if (typeof schema.type === 'string') return [schema.type]
  if (Array.isArray(schema.type)) return schema.type as string[]
  if (Array.isArray(schema.enum)) {
    const kinds = new Set(schema.enum.map((value) => (value === null ? 'null' : typeof value)))
    return [...kinds]
  }
  if (Array.isArray(schema.anyOf)) {
    const all = new Set<string>()
    for (const shape of schema.anyOf as Schema[]) {
      const kinds = typesOf(shape)
      if (kinds === undefined) return undefined
      for (const kind of kinds) all.add(kind)
    }
    return [...all]
  }
  return undefined
}

/** The top-level type checks of a strict route schema. */
export function basicSchema(strict: Schema): Schema {
  const properties: Record<string, Schema> = {}
  for (const [name, field] of Object.entries((strict.properties ?? {}) as Record<string, Schema>)) {
    const types = typesOf(field)
    if (types === undefined) continue
    // An integer field takes any number here: whole numbers are the strict mode's concern.
    const kinds = types.map((kind) => (kind === 'integer' ? 'number' : kind))
    properties[name] = { type: kinds.length === 1 ? kinds[0] : [...new Set(kinds)] }
  }
  return { type: 'object', properties }
}
