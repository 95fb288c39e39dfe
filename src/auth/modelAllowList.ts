// Per-key model allow-lists: exact names and `family:*` patterns, matched on Ollama's own normal form of a name, so a
// different spelling of a model (no tag, another case, the registry path) is the same model and nothing else is.

/** `Llama3.2` -> `llama3.2:latest`; `registry.ollama.ai/library/llama3.2:3b` -> `llama3.2:3b`. */
export function normalizeModel(name: string): string {
  let normal = name.trim().toLowerCase()
  // Ollama's ParseName drops a `scheme://` before the host (a name of host/namespace/model): `https://` + the default
  // registry is the default registry, and a per-model limit must not be bypassed by writing one.
  // Ollama cuts the model and the namespace off at the last two slashes, then the scheme off what is left at its first
  // `://`, whatever comes before it.
  const last = normal.lastIndexOf('/')
  const namespace = last > 0 ? normal.lastIndexOf('/', last - 1) : -1
  const scheme = namespace > 0 ? normal.indexOf('://') : -1
  if (scheme >= 0 && scheme + 3 < namespace) normal = normal.slice(scheme + 3)
  normal = normal.replace(/^(registry\.ollama\.ai\/)?library\//, '')
  const lastSlash = normal.lastIndexOf('/')
  if (!normal.slice(lastSlash + 1).includes(':')) normal += ':latest'
  return normal
}

const patternShape = /^[a-z0-9][a-z0-9._\-/]*(:([a-z0-9][a-z0-9._-]*|\*))?$/i

export function checkModelPattern(pattern: string): string | undefined {
  if (!patternShape.test(pattern.trim())) {
    const shown = pattern.length > 100 ? `${pattern.slice(0, 100)}…` : pattern
    return `invalid model pattern ${JSON.stringify(shown)}: a model name (llama3.2:3b) or a family with any tag (llama3.2:*)`
  }
  return undefined
}

export type ModelMatcher = (model: string) => boolean

/** The matcher of a credential without an allow-list (what a create from unnamed blobs needs). */
export const anyModel: ModelMatcher = () => true

/** null (no list) allows every model; an empty list allows none. */
export function compileAllowList(patterns: string[] | null): ModelMatcher {
  if (patterns === null) return anyModel
  const exact = new Set<string>()
  const families = new Set<string>()
  for (const pattern of patterns) {
    if (pattern.trim().endsWith(':*')) families.add(normalizeModel(pattern.trim().slice(0, -2) + ':x').slice(0, -2))
    else exact.add(normalizeModel(pattern))
  }
  return (model) => {
    const normal = normalizeModel(model)
    if (exact.has(normal)) return true
    return families.has(normal.slice(0, normal.lastIndexOf(':')))
  }
}
