// Loading order: built-in defaults < YAML file < PARALLAMA_<SECTION>__<KEY> env vars. Every problem found is reported
// at once, with the key's path, the value and what was expected.
import { splitRanges } from '../limits/addressList.js'
import { parseRange } from '../limits/rules.js'
import { aliasProblems } from '../models/aliases.js'
import { existsSync, readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { schema, type Config } from './schema.js'
import type { Problem, SchemaNode } from './schemaTypes.js'
import { ConfigError, validate } from './validate.js'

export const defaultConfigPaths = ['/etc/parallama/parallama.yaml', './conf/parallama.yaml']
const envPrefix = 'PARALLAMA_'

export interface LoadedConfig {
  config: Config
  /** The file read, or `(built-in defaults)` when none was found. */
  source: string
}

export interface LoadOptions {
  /** An explicit --config path: it must exist. */
  path?: string
  env?: NodeJS.ProcessEnv
  /** Where to look when no path is given (tests point this elsewhere). */
  searchPaths?: string[]
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const source = options.path ?? (options.searchPaths ?? defaultConfigPaths).find((candidate) => existsSync(candidate))
  const raw = source === undefined ? {} : readYaml(source)
  const shownSource = source ?? '(built-in defaults)'
  return { config: configFrom(raw, options.env ?? process.env, shownSource), source: shownSource }
}

/** Validates raw settings (as parsed from YAML) with env overrides applied; throws ConfigError listing every problem. */
export function configFrom(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, source = '(inline)'): Config {
  const problems: Problem[] = []
  const envPaths = applyEnv(raw, env, problems)
  const config = validate(schema, raw, '', problems, envPaths) as Config
  if (problems.length === 0) finish(config, problems)
  if (problems.length > 0) throw new ConfigError(problems, source)
  return config
}

function readYaml(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error)
    throw new ConfigError([{ path: '(file)', value: path, expected: `a readable YAML file (${reason})` }], path)
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => ({
      path: `(yaml line ${error.linePos?.[0].line ?? '?'})`,
      value: undefined,
      expected: `valid YAML: ${error.message.split('\n')[0]}`,
    }))
    throw new ConfigError(problems, path)
  }
  const value: unknown = document.toJS()
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ path: '(top level)', value, expected: 'a mapping of sections' }], path)
  }
  return value as Record<string, unknown>
}

/** Writes env overrides into `raw` and returns the paths they set. */
function applyEnv(raw: Record<string, any>, env: NodeJS.ProcessEnv, problems: Problem[]): Set<string> {
  const envPaths = new Set<string>()
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || value === undefined) continue
    const keys = name.slice(envPrefix.length).toLowerCase().split('__')
    const node = findNode(keys)
    const path = keys.join('.')
    if (!node || node.kind === 'section') {
      problems.push({ path: name, value, expected: 'an env var naming a config key, such as PARALLAMA_SERVER__PORT' })
      continue
    }
    let target = raw
    for (const key of keys.slice(0, -1)) {
      if (typeof target[key] !== 'object' || target[key] === null || Array.isArray(target[key])) target[key] = {}
      target = target[key]
    }
    if (node.kind === 'list') {
      target[keys.at(-1)!] = parseEnvList(value, node.envShorthandField, name, problems)
      continue
    }
    target[keys.at(-1)!] = value
    envPaths.add(path)
  }
  return envPaths
}

function findNode(keys: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema
  for (const key of keys) {
    if (node?.kind !== 'section') return undefined
    node = node.fields[key]
  }
  return node
}

/** A list from env: JSON (`[{"url": "..."}]`) or comma-separated values of its main field (`http://a,http://b`). */
function parseEnvList(value: string, field: string, name: string, problems: Problem[]): unknown {
  if (value.trim().startsWith('[')) {
    try {
      return JSON.parse(value)
    } catch {
      problems.push({ path: name, value, expected: 'a JSON list or comma-separated values' })
      return undefined
    }
  }
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => ({ [field]: item }))
}

/** Fills in values derived from others (backend names from URLs) and checks rules that span keys. */
function finish(config: Config, problems: Problem[]): void {
  const seen = new Set<string>()
  config.backends.forEach((backend, index) => {
    if (!backend.url) problems.push({ path: `backends[${index}].url`, value: undefined, expected: 'a backend URL' })
    else if (!backend.name) backend.name = new URL(backend.url).host
    if (seen.has(backend.name)) {
      problems.push({ path: `backends[${index}].name`, value: backend.name, expected: 'a name no other backend has' })
    }
    seen.add(backend.name)
  })
  const ranges = {
    'metrics.allow_from': config.metrics.allow_from,
    'server.allow_ip': config.server.allow_ip,
    'server.trusted_proxies': config.server.trusted_proxies,
  }
  for (const [path, text] of Object.entries(ranges)) {
    for (const range of splitRanges(text)) {
      if (!parseRange(range)) problems.push({ path, value: range, expected: 'address ranges such as 127.0.0.1/32' })
    }
  }
  const thresholds = config.alerts.thresholds.split(',').map(Number)
  if (thresholds.some((value) => value < 1 || value > 1000)) {
    problems.push({
      path: 'alerts.thresholds',
      value: config.alerts.thresholds,
      expected: 'percentages from 1 to 1000',
    })
  }
  for (const { index, expected } of aliasProblems(config.models.aliases)) {
    const entry = config.models.aliases[index]!
    problems.push({ path: `models.aliases[${index}]`, value: `${entry.alias} -> ${entry.model}`, expected })
  }
}
