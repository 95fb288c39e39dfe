// What one backend has: the models installed on it (its /api/tags) and those loaded in memory (its /api/ps, with
// when each is due to unload), kept current by the health checks' polls and by the gateway's own dispatches. Names
// are kept in Ollama's normal form (normalizeModel: `llama3` is `llama3:latest`), which is how requests name models.
import { normalizeModel } from '../auth/modelAllowList.js'

/** Ollama's /api/tags and /api/ps answers, as far as the inventory reads them. */
interface ModelListing {
  models?: {
    name?: unknown
    model?: unknown
    expires_at?: unknown
    size?: unknown
    digest?: unknown
    modified_at?: unknown
    size_vram?: unknown
  }[]
}

/**
 * What the backend's listing said of one model, for the admin inventory (GET /admin/v1/models); null where the entry
 * left a field out or gave it in the wrong type. `sizeVram` comes from /api/ps, the rest from /api/tags.
 */
export interface ModelFacts {
  size: number | null
  digest: string | null
  modifiedAt: string | null
  sizeVram: number | null
}

export class BackendInventory {
  /** undefined until the backend first answered /api/tags: every model counts as installed until then. */
  private installedModels: Map<string, ModelFacts> | undefined
  /** Loaded models and when each is due to unload (ms since epoch; Infinity: until the next poll says). */
  private readonly loadedModels = new Map<string, number>()
  /** What the last /api/ps said of each loaded model (its size in memory). */
  private loadedFacts = new Map<string, ModelFacts>()

  /** Whether /api/tags answered once (before that, nothing is known and every model counts as installed). */
  get known(): boolean {
    return this.installedModels !== undefined
  }

  /** `model` in normal form (normalizeModel). Unknown inventory counts as installed, so nothing waits for a poll. */
  installed(model: string): boolean {
    return this.installedModels === undefined || this.installedModels.has(model) || this.loadedModels.has(model)
  }

  /** `model` in normal form; loaded and not past the time /api/ps said it unloads. */
  loaded(model: string, now = Date.now()): boolean {
    const expiresAt = this.loadedModels.get(model)
    return expiresAt !== undefined && expiresAt > now
  }

  /** How many models are in the backend's memory (as last polled, plus those the gateway sent it since). */
  get loadedCount(): number {
    return this.loadedModels.size
  }

  /** The installed models, in normal form (undefined: not known yet). */
  get installedList(): readonly string[] | undefined {
    return this.installedModels && [...this.installedModels.keys()]
  }

  /** The installed models with what /api/tags said of each (undefined: not known yet). */
  get installedFacts(): ReadonlyMap<string, ModelFacts> | undefined {
    return this.installedModels
  }

  /** The loaded models (as last polled, plus those the gateway sent requests since) with what /api/ps said of each. */
  loadedList(now = Date.now()): { name: string; facts: ModelFacts | undefined }[] {
    const list: { name: string; facts: ModelFacts | undefined }[] = []
    for (const [name, expiresAt] of this.loadedModels) {
      if (expiresAt > now) list.push({ name, facts: this.loadedFacts.get(name) })
    }
    return list
  }

  /** Takes an /api/tags answer; one that is not a model list leaves the inventory as it was. */
  updateInstalled(listing: unknown): boolean {
    const names = modelNames(listing)
    if (!names) return false
    this.installedModels = new Map(names.map((entry) => [entry.name, entry.facts]))
    return true
  }

  /**
   * Takes an /api/ps answer polled at `now` (each entry's expires_at: when Ollama unloads it if idle); a malformed one
   * changes nothing. An entry already past its expires_at is busy (Ollama unloads an idle expired model at once, and
   * sets the time anew when its last request ends), so it stays loaded until the next poll.
   */
  updateLoaded(listing: unknown, now: number): boolean {
    const names = modelNames(listing)
    if (!names) return false
    this.loadedModels.clear()
    for (const { name, expiresAt } of names) this.loadedModels.set(name, expiresAt > now ? expiresAt : Infinity)
    this.loadedFacts = new Map(names.map((entry) => [entry.name, entry.facts]))
    return true
  }

  /**
   * The gateway sent a request for `model` (normal form): Ollama loads it to answer, so it counts as loaded until the
   * next /api/ps says otherwise (its keep_alive is not known here).
   */
  markLoaded(model: string): void {
    if (!this.loadedModels.has(model)) this.loadedModels.set(model, Infinity)
  }
}

interface ListedModel {
  name: string
  expiresAt: number
  facts: ModelFacts
}

/** The entries' normal names (Ollama lists `name` and `model`, the same; older versions only `name`). */
function modelNames(listing: unknown): ListedModel[] | undefined {
  const models = (listing as ModelListing | null)?.models
  if (!Array.isArray(models)) return undefined
  const names: ListedModel[] = []
  for (const entry of models) {
    const raw = typeof entry?.model === 'string' && entry.model ? entry.model : entry?.name
    if (typeof raw !== 'string' || raw.length === 0) continue
    const expires = typeof entry.expires_at === 'string' ? Date.parse(entry.expires_at) : NaN
    names.push({
      name: normalizeModel(raw),
      expiresAt: Number.isNaN(expires) ? Infinity : expires,
      facts: {
        size: byteCount(entry.size),
        digest: typeof entry.digest === 'string' ? entry.digest : null,
        modifiedAt: typeof entry.modified_at === 'string' ? entry.modified_at : null,
        sizeVram: byteCount(entry.size_vram),
      },
    })
  }
  return names
}

/** A size as a backend may send it: a whole number of bytes ≥ 0, else unknown. */
function byteCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null
}
