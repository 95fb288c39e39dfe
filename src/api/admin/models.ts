// /admin/v1/models: the models across every backend (the inventory the health checks keep), and pull, delete, copy on
// one backend or all of them. A pull streams NDJSON progress from each backend, merged and tagged (pullMerge.ts);
// delete and copy answer once with each backend's outcome. After each change the backend's inventory is read again,
// so that the next GET (and the picker) sees it at once.
import { recordOutcome } from '../../admin/auditTrail.js'
import { normalizeModel } from '../../auth/modelAllowList.js'
import type { Principal } from '../../auth/principal.js'
import type { Config } from '../../config/schema.js'
import type { Emit } from '../../events/eventBus.js'
import { GatewayError } from '../../errors.js'
import type { Backend } from '../../proxy/backends.js'
import { copyModel, deleteModel } from '../../proxy/modelCommands.js'
import { modelInventory } from '../../proxy/modelInventory.js'
import { mergePulls } from '../../proxy/pullMerge.js'
import type { JsonHandler, JsonReply } from '../jsonRoute.js'
import type { StreamReply } from '../streamReply.js'
import { byKey, pageOf, pageRequest } from '../pagination.js'
import { namedBackend } from './backends.js'

export interface ModelsContext {
  backends: () => readonly Backend[]
  health: { ensureChecked(): Promise<void>; refreshInventory(backend: Backend): Promise<void> }
  timeouts: () => Config['timeouts']
  emit: Emit
}

/** Where the DELETE route's path names its model (the rest of the path: names hold `/`, as in `hf.co/org/model`). */
export const modelPathPrefix = '/admin/v1/models/'

/** One backend's outcome of a delete or copy. */
type Outcome = { backend: string; status: 'success' } | { backend: string; error: { code: string; message: string } }

export function modelHandlers(context: ModelsContext): Record<string, JsonHandler> {
  return {
    // A key limited to some models sees and changes those only, here as on /api/tags and /api/pull.
    models_list: async ({ request, principal }) => {
      await context.health.ensureChecked()
      const paging = pageRequest(new URLSearchParams(request.query), 'models')
      if (paging instanceof GatewayError) return paging
      const key = (item: { model: string }) => item.model
      const items = modelInventory(context.backends(), Date.now())
        .filter((item) => principal!.allowsModel(item.model))
        .sort(byKey(key))
      return { status: 200, body: pageOf(items, paging, 'models', key, (item) => item) }
    },

    models_pull: ({ body, principal, trail }) => {
      const model = allowedModel(body.model, 'model', principal!)
      if (model instanceof GatewayError) return model
      const targets = chosenBackends(context.backends(), body.backend)
      if (targets instanceof GatewayError) return targets
      const by = principal!.username
      return {
        status: 200,
        contentType: 'application/x-ndjson',
        produce: (out) =>
          mergePulls(targets, model, context.timeouts(), out, async (backend, error) => {
            if (!error) context.emit('model.pulled', { model, backend: backend.name, by })
            recordOutcome(trail, 'model.pull', `model:${model}`, error, { backend: backend.name })
            await context.health.refreshInventory(backend)
          }),
      } satisfies StreamReply
    },

    models_delete: async ({ request, principal, trail }) => {
      const model = modelFromPath(request.path)
      if (model instanceof GatewayError) return model
      if (!principal!.allowsModel(model)) return notAllowed(model)
      const targets = holders(context.backends(), new URLSearchParams(request.query).get('backend'), model)
      if (targets instanceof GatewayError) return targets
      const outcomes = await Promise.all(
        targets.map(async (backend) => {
          const error = await deleteModel(backend, model, context.timeouts())
          await context.health.refreshInventory(backend)
          if (!error) context.emit('model.deleted', { model, backend: backend.name, by: principal!.username })
          recordOutcome(trail, 'model.delete', `model:${model}`, error, { backend: backend.name })
          return outcome(backend, error)
        }),
      )
      return answerOutcomes({ model }, outcomes, targets)
    },

    models_copy: async ({ body, principal, trail }) => {
      const source = allowedModel(body.source, 'source', principal!)
      if (source instanceof GatewayError) return source
      const destination = allowedModel(body.destination, 'destination', principal!)
      if (destination instanceof GatewayError) return destination
      if (body.backend !== undefined && typeof body.backend !== 'string') return backendFieldError()
      const targets = holders(context.backends(), body.backend ?? null, source)
      if (targets instanceof GatewayError) return targets
      const outcomes = await Promise.all(
        targets.map(async (backend) => {
          const error = await copyModel(backend, source, destination, context.timeouts())
          await context.health.refreshInventory(backend)
          const by = principal!.username
          if (!error) context.emit('model.copied', { source, destination, backend: backend.name, by })
          recordOutcome(trail, 'model.copy', `model:${source}`, error, { destination, backend: backend.name })
          return outcome(backend, error)
        }),
      )
      return answerOutcomes({ source, destination }, outcomes, targets)
    },
  }
}

function outcome(backend: Backend, error: GatewayError | undefined): Outcome {
  return error
    ? { backend: backend.name, error: { code: error.code, message: error.message } }
    : { backend: backend.name, status: 'success' }
}

/**
 * 200 with every backend's outcome when at least one succeeded (the caller reads which did not); when none did, the
 * first backend's error as the answer itself, so that a plain failure (no such model, backend down) has its status.
 */
function answerOutcomes(what: object, outcomes: Outcome[], targets: readonly Backend[]): JsonReply {
  if (outcomes.some((entry) => 'status' in entry)) return { status: 200, body: { ...what, backends: outcomes } }
  const first = outcomes[0] as Extract<Outcome, { error: unknown }>
  const error = new GatewayError(first.error.code as GatewayError['code'], first.error.message)
  return targets.length === 1 ? error : new GatewayError(error.code, `on every backend: ${error.message}`)
}

/** Longest model name taken: Ollama's host, namespace, model and tag parts at their longest, with separators. */
const maxModelName = 600

/** A model name as Ollama takes it; Ollama checks its parts itself (a 400 it answers is passed on). */
function modelName(value: unknown, field: string): string | GatewayError {
  if (typeof value !== 'string' || value.trim() === '') {
    return new GatewayError('invalid_request', `"${field}" is required: a model name such as "llama3.2:3b"`)
  }
  if (value.length > maxModelName) {
    return new GatewayError('invalid_request', `"${field}" is longer than ${maxModelName} characters`)
  }
  // Whitespace and control characters are in no model name; refused here rather than sent to every backend.
  if (/[\s\p{Cc}]/u.test(value)) {
    return new GatewayError('invalid_request', `"${field}" must not hold spaces or control characters`)
  }
  return value
}

/** A valid model name the credential may use (its key's model allow-list). */
function allowedModel(value: unknown, field: string, principal: Principal): string | GatewayError {
  const name = modelName(value, field)
  if (name instanceof GatewayError || principal.allowsModel(name)) return name
  return notAllowed(name)
}

function notAllowed(model: string): GatewayError {
  return new GatewayError('model_not_allowed', `this credential may not use model "${model}" (its key's model list)`)
}

function modelFromPath(path: string): string | GatewayError {
  let decoded: string
  try {
    decoded = decodeURIComponent(path.slice(modelPathPrefix.length))
  } catch {
    return new GatewayError('invalid_request', 'the model in the path is not valid percent-encoding')
  }
  return modelName(decoded, 'model')
}

function backendFieldError(): GatewayError {
  return new GatewayError('invalid_request', '"backend" must be the name of a configured backend (or left out: all)')
}

/** The backend the body names, or every backend when it names none. */
function chosenBackends(backends: readonly Backend[], backend: unknown): readonly Backend[] | GatewayError {
  if (backend === undefined) return backends
  if (typeof backend !== 'string' || backend === '') return backendFieldError()
  const found = namedBackend(backends, backend)
  return found instanceof GatewayError ? found : [found]
}

/**
 * Where a delete or copy goes: the backend named (if any), else every backend that has the model — or may have it,
 * its inventory not known yet (the backend then says itself). None: 404, nothing sent.
 */
function holders(backends: readonly Backend[], backend: string | null, model: string): Backend[] | GatewayError {
  if (backend !== null) {
    if (backend === '') return backendFieldError()
    const found = namedBackend(backends, backend)
    return found instanceof GatewayError ? found : [found]
  }
  const normal = normalizeModel(model)
  const having = backends.filter((candidate) => candidate.installed(normal))
  if (having.length > 0) return having
  return new GatewayError('model_not_found', `model "${model}" is installed on no backend`)
}
