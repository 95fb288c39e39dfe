// The emulator's model management, as Ollama's server/routes.go answers it: pull (and push, create) with progress
// lines ending in `success`, copy and delete with an empty 200, and Ollama's own refusals — an invalid name 400, a
// model it does not have 404, a pull of a name its registry lacks the `pull model manifest` error after the first
// line. Each emulator holds its own models, so a pull to one backend makes the two differ.
import type { ServerResponse } from 'node:http'
import { catalogOf, normalizeName, type EmulatedModel } from './catalog.js'
import type { Knobs } from './options.js'
import type { NativeContext } from './native.js'
import { sendError, sendJson } from './native.js'
import { writeStream } from './stream.js'

/**
 * Ollama's model.ParseName accepts host/namespace/model:tag with letters, digits, `_`, `.`, `-`; the emulator checks
 * the same alphabet and that a model part is there (not every rule of the parts' lengths).
 */
function validName(name: string): boolean {
  return name.length <= 350 && /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(name)
}

/** Ollama reads `model`, and `name` from older clients. */
function nameIn(body: Record<string, unknown>): string {
  const name = body.model || body.name
  return typeof name === 'string' ? name : ''
}

/** A model pulled or copied now: the registry's entry (or a new one of its own digest), modified now. */
function arrived(name: string, from?: EmulatedModel): EmulatedModel {
  const base = from ? { ...from, name } : catalogOf([name])[0]!
  return { ...base, modifiedAt: new Date().toISOString() }
}

function emptyOk(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': 0 }).end()
}

/** pull, push and create answer with progress lines ending in `success`. */
export function progress(context: NativeContext, kind: 'pull' | 'push' | 'create'): void {
  const { res, body, knobs } = context
  const name = nameIn(body)
  if (kind === 'pull' && !validName(name)) {
    sendError(res, 400, 'invalid model name')
    return context.done()
  }
  if (name === '') {
    sendError(res, 400, 'model is required')
    return context.done()
  }
  const normalized = normalizeName(name)
  const missing = kind === 'pull' && context.registry !== undefined && !context.registry.has(normalized)
  const entry = context.models.get(normalized) ?? arrived(normalized)
  const lines = missing ? [{ status: 'pulling manifest' }] : progressLines(kind, entry, knobs)
  const finish = () => {
    if (kind !== 'push' && !missing) context.models.set(normalized, arrived(normalized, entry))
  }
  const manifestMissing = 'pull model manifest: file does not exist'
  const last = missing ? { error: manifestMissing } : lines.pop()!
  if (body.stream === false) {
    if (missing) sendError(res, 500, manifestMissing)
    else {
      finish()
      sendJson(res, 200, last)
    }
    return context.done()
  }
  writeStream(
    res,
    knobs,
    {
      contentType: 'application/x-ndjson',
      count: lines.length,
      piece: (i) => JSON.stringify(lines[i]) + '\n',
      tail: () => {
        finish()
        return JSON.stringify(last) + '\n'
      },
      errorPiece: (message) => JSON.stringify({ error: message }) + '\n',
    },
    context.done,
  )
}

/**
 * Ollama's lines: the manifest, then per layer `pulling <12 hex>` with digest, total and completed as it downloads
 * (the model's weights in `knobs.tokens` steps, its small template layer at once), then the checks and `success`.
 */
function progressLines(kind: 'pull' | 'push' | 'create', entry: EmulatedModel, knobs: Knobs): object[] {
  const verb = kind === 'push' ? 'pushing' : 'pulling'
  const first =
    kind === 'pull' ? 'pulling manifest' : kind === 'push' ? 'retrieving manifest' : 'reading model metadata'
  const layers = [
    { digest: `sha256:${entry.digest}`, total: entry.size, steps: Math.max(1, Math.min(knobs.tokens, 1000)) },
    { digest: `sha256:${entry.digest.split('').reverse().join('')}`, total: 1429, steps: 1 },
  ]
  const lines: object[] = [{ status: first }]
  for (const { digest, total, steps } of layers) {
    for (let i = 1; i <= steps; i++) {
      const completed = Math.round((total * i) / steps)
      lines.push({ status: `${verb} ${digest.slice(7, 19)}`, digest, total, completed })
    }
  }
  lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' })
  return lines
}

export function copy(context: NativeContext): void {
  const { res, body, models } = context
  const source = typeof body.source === 'string' ? body.source : ''
  const destination = typeof body.destination === 'string' ? body.destination : ''
  if (!validName(source)) sendError(res, 400, `source ${JSON.stringify(source)} is invalid`)
  else if (!validName(destination)) sendError(res, 400, `destination ${JSON.stringify(destination)} is invalid`)
  else {
    const found = models.get(normalizeName(source))
    if (!found) sendError(res, 404, `model ${JSON.stringify(source)} not found`)
    else {
      models.set(normalizeName(destination), arrived(normalizeName(destination), found))
      emptyOk(res)
    }
  }
  context.done()
}

export function remove(context: NativeContext): void {
  const { res, body, models } = context
  const name = nameIn(body)
  if (!validName(name)) sendError(res, 400, `name ${JSON.stringify(name)} is invalid`)
  else if (!models.delete(normalizeName(name))) sendError(res, 404, `model '${name}' not found`)
  else emptyOk(res)
  context.done()
}
