// The emulator's models and its deterministic "generation": the same request always yields the same tokens, so a
// test can compare a reply through the gateway with one straight from the emulator.

export interface EmulatedModel {
  name: string
  family: string
  parameterSize: string
  quantization: string
  size: number
  digest: string
  embedding: boolean
  /** When it was pulled or copied here (ISO 8601); the catalog's own models share one fixed time. */
  modifiedAt?: string
}

export function digestOf(name: string): string {
  let hash = 2166136261
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0
  return hash.toString(16).padStart(8, '0').repeat(8)
}

function model(name: string, family: string, parameterSize: string, size: number, embedding = false): EmulatedModel {
  return { name, family, parameterSize, quantization: 'Q4_K_M', size, digest: digestOf(name), embedding }
}

export const defaultModels: EmulatedModel[] = [
  model('llama3.2:3b', 'llama', '3.2B', 2019393189),
  model('qwen2.5:0.5b', 'qwen2', '494.03M', 397821319),
  model('nomic-embed-text:latest', 'nomic-bert', '137M', 274302450, true),
]

/**
 * The catalog of an emulator that holds only `names` (`--models a,b`): the default entries by those names, and for a
 * name the defaults lack, a llama-family entry of its own name and digest.
 */
export function catalogOf(names: string[]): EmulatedModel[] {
  return names.map((name) => {
    const full = normalizeName(name)
    return defaultModels.find((entry) => entry.name === full) ?? model(full, 'llama', '3.2B', 2019393189)
  })
}

/** `llama3.2` means `llama3.2:latest`, as in Ollama. */
export function normalizeName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`
}

const words = [
  'The',
  ' quick',
  ' brown',
  ' fox',
  ' jumps',
  ' over',
  ' the',
  ' lazy',
  ' dog',
  '.',
  ' Then',
  ' it',
  ' rests',
  ',',
]

export function tokenText(index: number): string {
  return words[index % words.length]!
}

/** A rough prompt token count: Ollama counts tokens; whitespace-separated words stand in for them here. */
export function countPromptTokens(text: string): number {
  const count = text.split(/\s+/).filter(Boolean).length
  return count === 0 ? 0 : count + 1
}

export function embeddingVector(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions)
  let seed = text.length + 1
  for (let i = 0; i < dimensions; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    vector[i] = Math.round((seed / 0xffffffff - 0.5) * 1e6) / 1e6
  }
  return vector
}

export function modelDetails(entry: EmulatedModel) {
  return {
    parent_model: '',
    format: 'gguf',
    family: entry.family,
    families: [entry.family],
    parameter_size: entry.parameterSize,
    quantization_level: entry.quantization,
  }
}

/** The model a request names, or why it cannot be served (status and Ollama's message). */
export function lookupModel(
  models: Map<string, EmulatedModel>,
  name: unknown,
): EmulatedModel | { status: number; message: string } {
  if (typeof name !== 'string' || name === '') return { status: 400, message: 'model is required' }
  return models.get(normalizeName(name)) ?? { status: 404, message: `model "${name}" not found, try pulling it first` }
}
