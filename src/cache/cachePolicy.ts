// Which requests the cache may answer and which replies it may keep. By default only replies that the same request
// would get again: deterministic generation (temperature 0, or a seed set) and embeddings; `cache.policy: all`, a
// route in `cache.all_routes`, a role in `cache.all_roles` or a key in `cache.all_keys` opt in to every request. The client's Cache-Control has
// the last word: no-cache never reads an entry (the fresh reply may be stored), no-store neither reads nor stores.
import { JsonMembers, JsonNumber, type JsonNode } from './canonicalBody.js'

/** Routes the cache serves, and what each does: generate (a sampled reply) or embed (always the same vectors). */
export const cacheRoutes: ReadonlyMap<string, 'generate' | 'embed'> = new Map([
  ['ollama.generate', 'generate'],
  ['ollama.chat', 'generate'],
  ['ollama.embed', 'embed'],
  ['ollama.embeddings', 'embed'],
  ['openai.chat_completions', 'generate'],
  ['openai.completions', 'generate'],
  ['openai.embeddings', 'embed'],
])

/** Why a request on a cacheable route went past the cache (a metrics label: a closed set). */
export type BypassReason =
  | 'no_store'
  | 'not_deterministic'
  | 'body_too_large'
  | 'unreadable_body'
  | 'digest_unknown'
  | 'digest_differs'
  | 'no_model'

export interface PolicySettings {
  policy: 'deterministic' | 'all'
  /** Route ids (`<api>.<name>`), roles and API key ids whose every request is cached. */
  allRoutes: ReadonlySet<string>
  allRoles: ReadonlySet<string>
  allKeys: ReadonlySet<string>
}

/** What the cache may do with one request: read an entry, store its reply. */
export interface CacheUse {
  read: boolean
  write: boolean
}

export interface PolicyInput {
  route: string
  role: string | undefined
  /** The API key's id (null: a login session). */
  keyId: string | null | undefined
  /** The Cache-Control header's directives, lower case ('' without one). */
  cacheControl: string
  body: JsonNode
}

export function cacheUse(input: PolicyInput, settings: PolicySettings): CacheUse | BypassReason {
  const directives = input.cacheControl
  if (hasDirective(directives, 'no-store')) return 'no_store'
  const kind = cacheRoutes.get(input.route)
  const everything =
    kind === 'embed' ||
    settings.policy === 'all' ||
    settings.allRoutes.has(input.route) ||
    (input.role !== undefined && settings.allRoles.has(input.role)) ||
    (typeof input.keyId === 'string' && settings.allKeys.has(input.keyId))
  if (!everything && !deterministic(input.route, input.body)) return 'not_deterministic'
  return { read: !hasDirective(directives, 'no-cache'), write: true }
}

/**
 * Temperature 0 or a fixed seed, where the route reads them: native requests in `options`, OpenAI's at the top level.
 * A field given twice is no clear answer: not deterministic. OpenAI's fields are a Go struct's (any letter case reads
 * as the field); native `options` is a Go map that Ollama reads by exact name only (`Temperature` is ignored, and the
 * default, sampled temperature runs).
 */
export function deterministic(route: string, body: JsonNode): boolean {
  if (!(body instanceof JsonMembers)) return false
  const native = route.startsWith('ollama.')
  const holder = native ? body.only('options') : body
  if (!(holder instanceof JsonMembers)) return false
  const field = (name: string) => (native ? holder.exact(name) : holder.only(name))
  if (fixedSeed(field('seed'))) return true
  const temperature = field('temperature')
  return temperature instanceof JsonNumber && Number(temperature.literal) === 0
}

/** The largest seed below the one the llama.cpp runner reads as "random" (-1 as a uint32). */
const maxFixedSeed = 0xfffffffe

/**
 * Whether a seed fixes the sampling: Ollama reads -1 as "a random seed" (and the llama.cpp runner any value that is
 * -1 as a uint32), and truncates a fraction in `options` (-1.5 is -1): only a plain non-negative integer below 2^32-1
 * counts.
 */
function fixedSeed(seed: JsonNode | undefined): boolean {
  return (
    seed instanceof JsonNumber && /^(?:0|[1-9][0-9]{0,9})$/.test(seed.literal) && Number(seed.literal) <= maxFixedSeed
  )
}

/** Whether a Cache-Control value holds a directive (comma-separated tokens, any case, with or without a value). */
function hasDirective(value: string, directive: string): boolean {
  if (value === '') return false
  for (const part of value.split(',')) {
    const name = part.split('=')[0]!.trim()
    if (name === directive) return true
  }
  return false
}

/** The Cache-Control lines of a request's headers (flat [name, value, ...]), joined and in lower case. */
export function cacheControlOf(headers: readonly string[]): string {
  let value = ''
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'cache-control') value = value === '' ? headers[i + 1]! : `${value},${headers[i + 1]!}`
  }
  return value.toLowerCase()
}

/** A comma-separated config list as a set. */
export function listSetting(text: string): Set<string> {
  return new Set(
    text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
}
