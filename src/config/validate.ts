// Walks raw input (YAML, env) against the schema, collecting every problem with its path instead of stopping at one.
import { Expected, type ListNode, type Problem, type SchemaNode, type SectionNode } from './schemaTypes.js'

export class ConfigError extends Error {
  readonly code = 'config_invalid'
  constructor(
    readonly problems: Problem[],
    readonly source: string,
  ) {
    super(`invalid configuration (${source}):\n` + problems.map(describeProblem).join('\n'))
  }
}

export function describeProblem(problem: Problem): string {
  const shown = problem.value === undefined ? 'nothing' : JSON.stringify(problem.value)
  return `  ${problem.path}: got ${shown}, expected ${problem.expected}`
}

/** `envPaths` holds the paths whose raw value is an env var string (parsed more leniently: "8080" is a number). */
export function validate(
  node: SchemaNode,
  raw: unknown,
  path: string,
  problems: Problem[],
  envPaths: Set<string>,
): unknown {
  switch (node.kind) {
    case 'leaf':
      if (raw === undefined) return node.default
      // Secrets come from the environment or a file, never from the YAML itself (which is often world-readable).
      if (node.secret && !envPaths.has(path) && raw !== '') {
        problems.push({ path, value: '***', expected: `no secret in the file: set ${envName(path)} or the *_file key` })
        return node.default
      }
      try {
        return node.parse(raw, envPaths.has(path))
      } catch (error) {
        if (!(error instanceof Expected)) throw error
        problems.push({ path, value: node.secret ? '***' : raw, expected: error.message })
        return node.default
      }
    case 'section':
      return validateSection(node, raw, path, problems, envPaths)
    case 'list':
      return validateList(node, raw, path, problems, envPaths)
  }
}

function validateSection(
  node: SectionNode,
  raw: unknown,
  path: string,
  problems: Problem[],
  envPaths: Set<string>,
): Record<string, unknown> {
  const input = raw ?? {}
  if (typeof input !== 'object' || Array.isArray(input)) {
    problems.push({ path: path || '(top level)', value: raw, expected: 'a mapping of keys to values' })
    return validateSection(node, {}, path, [], envPaths)
  }
  const result: Record<string, unknown> = {}
  for (const key of Object.keys(input)) {
    if (!(key in node.fields)) {
      const known = Object.keys(node.fields).join(', ')
      problems.push({
        path: join(path, key),
        value: (input as any)[key],
        expected: `no such key (known here: ${known})`,
      })
    }
  }
  for (const [key, child] of Object.entries(node.fields)) {
    result[key] = validate(child, (input as any)[key], join(path, key), problems, envPaths)
  }
  return result
}

function validateList(
  node: ListNode,
  raw: unknown,
  path: string,
  problems: Problem[],
  envPaths: Set<string>,
): unknown[] {
  const input = raw === undefined ? node.default : raw
  if (!Array.isArray(input) || input.length < node.minItems) {
    problems.push({ path, value: raw, expected: `a list of at least ${node.minItems} entries` })
    return []
  }
  return input.map((item, index) => validate(node.item, item, `${path}[${index}]`, problems, envPaths))
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key
}

/** The env var that sets a config path: server.port -> PARALLAMA_SERVER__PORT. */
export function envName(path: string): string {
  return 'PARALLAMA_' + path.toUpperCase().replaceAll('.', '__')
}
