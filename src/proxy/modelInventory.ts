// The models across every backend (GET /admin/v1/models), from the inventories the health checks keep: for each model
// named by any backend, what each backend has of it — installed (its /api/tags), loaded (its /api/ps), size, digest,
// when it changed — and whether the backends differ: a digest that is not the same everywhere, or a model only some
// have. A backend whose inventory is not known yet (no /api/tags answer) is left out rather than guessed.
import type { Backend } from './backends.js'
import type { ModelFacts } from './backendInventory.js'

export interface ModelOnBackend {
  backend: string
  installed: boolean
  loaded: boolean
  size: number | null
  digest: string | null
  modified_at: string | null
  /** Bytes of it in GPU memory, when loaded and the backend said. */
  size_vram?: number
}

export interface InventoryEntry {
  model: string
  backends: ModelOnBackend[]
  differs: boolean
}

/** Every model, sorted by name; each lists every backend whose inventory is known, in the config's order. */
export function modelInventory(backends: readonly Backend[], now: number): InventoryEntry[] {
  const known = backends.filter((backend) => backend.inventory.known)
  const names = new Set<string>()
  const loadedBy = new Map<Backend, Map<string, ModelFacts | undefined>>()
  for (const backend of known) {
    for (const name of backend.inventory.installedFacts!.keys()) names.add(name)
    const loaded = new Map(backend.inventory.loadedList(now).map((entry) => [entry.name, entry.facts]))
    for (const name of loaded.keys()) names.add(name)
    loadedBy.set(backend, loaded)
  }
  return [...names].sort().map((model) => {
    const rows = known.map((backend) => row(backend, model, loadedBy.get(backend)!))
    return { model, backends: rows, differs: differs(rows) }
  })
}

function row(backend: Backend, model: string, loaded: Map<string, ModelFacts | undefined>): ModelOnBackend {
  const installed = backend.inventory.installedFacts!.get(model)
  const inMemory = loaded.has(model)
  const facts = installed ?? loaded.get(model)
  const entry: ModelOnBackend = {
    backend: backend.name,
    installed: installed !== undefined,
    loaded: inMemory,
    size: facts?.size ?? null,
    digest: facts?.digest ?? null,
    modified_at: installed?.modifiedAt ?? null,
  }
  const vram = loaded.get(model)?.sizeVram
  if (inMemory && vram !== null && vram !== undefined) entry.size_vram = vram
  return entry
}

/** Installed on some backends only, or installed with digests that are not all the same. */
function differs(rows: readonly ModelOnBackend[]): boolean {
  const installed = rows.filter((entry) => entry.installed)
  if (installed.length !== rows.length) return true
  return new Set(installed.map((entry) => entry.digest)).size > 1
}
