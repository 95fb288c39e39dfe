// Renders configuration as YAML: the documented default file (conf/parallama.yaml is generated from this) and the
// effective configuration that `parallama config check` prints, with secrets masked.
import { stringify } from 'yaml'
import { restartKeyPaths } from './restartKeys.js'
import { schema } from './schema.js'
import type { SchemaNode, SectionNode } from './schemaTypes.js'
import { envName } from './validate.js'

/** Keys whose change needs a restart, as the documentation says it. */
const restart = new Set(restartKeyPaths())
const restartNote = ' Changing it needs a restart (a reload reports it and keeps the running value).'

export function renderEffective(config: unknown): string {
  return stringify(mask(schema, config), { lineWidth: 0 })
}

function mask(node: SchemaNode, value: unknown): unknown {
  if (node.kind === 'leaf') return node.secret && value ? '***' : value
  if (node.kind === 'list') return (value as unknown[]).map((item) => mask(node.item, item))
  const result: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(node.fields)) result[key] = mask(child, (value as any)[key])
  return result
}

/** The documented YAML of every key with its default, as shipped in conf/parallama.yaml. */
export function renderDocumented(header: string): string {
  const lines = header
    .trim()
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
  for (const [key, node] of Object.entries(schema.fields)) {
    lines.push('', ...renderNode(key, node, ''))
  }
  return lines.join('\n') + '\n'
}

function renderNode(key: string, node: SchemaNode, indent: string, path = key): string[] {
  const lines = [`${indent}# ${node.doc}`]
  if (node.kind === 'leaf') {
    lines[0] += ` Expects ${node.expects}.${restart.has(path) ? restartNote : ''}`
    if (node.secret) lines.push(`${indent}# ${key}: (environment only: ${envName(path)})`)
    else lines.push(`${indent}${key}: ${node.format ? node.format(node.default) : scalar(node.default)}`)
  } else if (node.kind === 'section') {
    lines.push(`${indent}${key}:`, ...renderFields(node, indent + '  ', path))
  } else {
    if (restart.has(path)) lines[0] += restartNote
    lines.push(node.default.length === 0 ? `${indent}${key}: []` : `${indent}${key}:`)
    for (const item of node.default as Record<string, unknown>[]) {
      const entries = Object.entries(item)
      entries.forEach(([field, value], index) => {
        lines.push(`${indent}  ${index === 0 ? '- ' : '  '}${field}: ${scalar(value)}`)
      })
    }
    lines.push(`${indent}  # Each entry:`)
    for (const [field, child] of Object.entries(node.item.fields)) {
      if (child.kind === 'leaf') lines.push(`${indent}  #   ${field}: ${child.doc} Expects ${child.expects}.`)
    }
  }
  return lines
}

function renderFields(node: SectionNode, indent: string, path: string): string[] {
  return Object.entries(node.fields).flatMap(([key, child]) => renderNode(key, child, indent, `${path}.${key}`))
}

function scalar(value: unknown): string {
  return stringify(value, { lineWidth: 0 }).trimEnd()
}

/** Every key as a Markdown table row (key, default, what it does, environment variable): the admin guide's reference. */
export function renderReference(): string {
  const rows = ['| key | default | meaning | environment |', '| --- | --- | --- | --- |']
  const walk = (node: SchemaNode, path: string): void => {
    if (node.kind === 'section') {
      for (const [key, child] of Object.entries(node.fields)) walk(child, path ? `${path}.${key}` : key)
      return
    }
    const shown =
      node.kind === 'list'
        ? node.default.length === 0
          ? '[]'
          : JSON.stringify(node.default)
        : node.secret
          ? '(environment only)'
          : node.format
            ? node.format(node.default)
            : JSON.stringify(node.default)
    const doc =
      (node.kind === 'leaf'
        ? `${node.doc} Expects ${node.expects}.`
        : `${node.doc} Each entry: ${Object.keys(node.item.fields).join(', ')}.`) +
      (restart.has(path) ? restartNote : '')
    rows.push(
      `| \`${path}\` | \`${shown.replace(/\|/g, '\\|')}\` | ${doc.replace(/\|/g, '\\|')} | \`${envName(path)}\` |`,
    )
  }
  walk(schema, '')
  return rows.join('\n') + '\n'
}
