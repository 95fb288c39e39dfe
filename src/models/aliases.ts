// Model aliases: names clients send (gpt-4o-mini) for the Ollama models that serve them (llama3.2:3b). An alias is
// resolved once, before allow-lists, limits and accounting, so all of those see the model that really runs.
import { normalizeModel } from '../auth/modelAllowList.js'

export interface AliasEntry {
  alias: string
  model: string
}

export class ModelAliases {
  /** Normal form of an alias -> the model as configured. */
  private readonly targets = new Map<string, string>()

  constructor(public entries: readonly AliasEntry[]) {
    this.replace(entries)
  }

  /** New aliases from a reloaded config; requests already read keep the model they resolved. */
  replace(entries: readonly AliasEntry[]): void {
    this.entries = entries
    this.targets.clear()
    for (const { alias, model } of entries) this.targets.set(normalizeModel(alias), model)
  }

  get size(): number {
    return this.targets.size
  }

  /** The model an alias stands for; undefined when `name` is not an alias. */
  targetOf(name: string): string | undefined {
    return this.targets.size === 0 ? undefined : this.targets.get(normalizeModel(name))
  }
}

/** What is wrong with a list of aliases (duplicates, chains, an alias of itself), as config problems. */
export function aliasProblems(entries: readonly AliasEntry[]): { index: number; expected: string }[] {
  const problems: { index: number; expected: string }[] = []
  const aliases = new Set(entries.map((entry) => normalizeModel(entry.alias)))
  const seen = new Set<string>()
  entries.forEach(({ alias, model }, index) => {
    const normal = normalizeModel(alias)
    if (alias === '' || model === '') problems.push({ index, expected: 'both an alias and the model it stands for' })
    else if (seen.has(normal))
      problems.push({ index, expected: `an alias no other entry defines ("${alias}" is twice)` })
    else if (normal === normalizeModel(model)) problems.push({ index, expected: 'an alias of another model' })
    else if (aliases.has(normalizeModel(model))) {
      problems.push({ index, expected: `a real model as target ("${model}" is itself an alias; aliases do not chain)` })
    }
    seen.add(normal)
  })
  return problems
}
