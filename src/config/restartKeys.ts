// Which changed keys a reload cannot apply: those the schema marks `restart: true` (a marked section marks all its
// keys). The marks live on the schema nodes, so a new key says there whether it reloads, not in a second list.
import { schema } from './schema.js'
import type { SchemaNode } from './schemaTypes.js'

/** Every key path the schema marks as needing a restart (leaves and lists, a marked section's keys included). */
export function restartKeyPaths(node: SchemaNode = schema, path = '', inherited = false): string[] {
  const marked = inherited || node.restart === true
  if (node.kind !== 'section') return marked ? [path] : []
  return Object.entries(node.fields).flatMap(([key, child]) =>
    restartKeyPaths(child, path ? `${path}.${key}` : key, marked),
  )
}

const marked = restartKeyPaths()

/** The marked keys whose value differs between the running config and the next one, in schema order. */
export function changedRestartKeys(current: object, next: object): string[] {
  return marked.filter((path) => JSON.stringify(valueAt(current, path)) !== JSON.stringify(valueAt(next, path)))
}

function valueAt(config: object, path: string): unknown {
  let value: unknown = config
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key]
  return value
}
