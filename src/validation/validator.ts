// Request validation (docs/validation.md): each route's body checked against its schema (ollamaSchemas.ts,
// openaiSchemas.ts) in the mode its API is configured for. Each route's schema is compiled once per process, the
// first time a body on that route needs it; later requests only run the compiled function. A body larger than
// `validation.full_parse_max_bytes` is never parsed whole on the event loop: it keeps only the checks of the fields
// the gateway reads itself (jsonFields.ts), which run on every body whatever its size.
import { Ajv, type ValidateFunction } from 'ajv'
import type { GatewayError } from '../errors.js'
import { basicSchema } from './basicSchema.js'
import type { ValidationMode } from './modes.js'
import { fieldRefusal } from './fieldRefusal.js'
import { ollamaSchemas } from './ollamaSchemas.js'
import { openAiSchemas } from './openaiSchemas.js'
import { sharedSchemas, type Schema } from './schemaParts.js'

/** The `validation` config section (src/config/schema.ts), read per request: a reload changes it live. */
export interface ValidationSettings {
  ollama: ValidationMode
  openai: ValidationMode
  full_parse_max_bytes: number
}

/**
 * One route's checks, each compiled the first time a body needs it: all of them compiled up front cost 0.35–0.5 s per
 * process (every gateway start, every test process), while a gateway serves a handful of routes in one or two modes.
 */
export class RouteChecks {
  private strictCheck: ValidateFunction | undefined = undefined
  private basicCheck: ValidateFunction | undefined = undefined

  constructor(
    readonly api: 'ollama' | 'openai',
    private readonly schema: Schema,
  ) {}

  get strict(): ValidateFunction {
    return (this.strictCheck ??= compiler().compile(this.schema))
  }

  get basic(): ValidateFunction {
    return (this.basicCheck ??= compiler().compile(basicSchema(this.schema)))
  }
}

let ajv: Ajv | undefined

/** The one Ajv instance, with the parts several routes share added once (they compile when a route first uses them). */
function compiler(): Ajv {
  if (ajv) return ajv
  // strictSchema: Ajv refuses a schema with an unknown keyword, so a typo in ours fails at its first compile (the
  // tests compile every route); strictTypes would also ask every if/then part to repeat its parent's type: noise.
  // verbose: a failure carries the value and the schema it failed (for the message); nothing is added on success.
  ajv = new Ajv({ allErrors: false, verbose: true, strictSchema: true, strictTypes: false, allowUnionTypes: true })
  for (const part of sharedSchemas.values()) ajv.addSchema(part)
  return ajv
}

let checksByRoute: ReadonlyMap<string, RouteChecks> | undefined

/** Every route's checks by `<api>.<name>` (compiled lazily, see RouteChecks). */
export function routeChecks(): ReadonlyMap<string, RouteChecks> {
  if (checksByRoute) return checksByRoute
  const checks = new Map<string, RouteChecks>()
  for (const [name, schema] of Object.entries(ollamaSchemas))
    checks.set(`ollama.${name}`, new RouteChecks('ollama', schema))
  for (const [name, schema] of Object.entries(openAiSchemas))
    checks.set(`openai.${name}`, new RouteChecks('openai', schema))
  checksByRoute = checks
  return checks
}

/**
 * Checks a body the field reader has accepted (so it is one well-formed JSON object) in the mode its API is set to: the
 * refusal naming its first bad field, or undefined when it passes (or is too large to parse here, or its API's mode is
 * off).
 */
export function validateBody(
  checks: RouteChecks,
  settings: ValidationSettings,
  body: Buffer,
): GatewayError | undefined {
  const mode = settings[checks.api]
  if (mode === 'off' || body.length > settings.full_parse_max_bytes) return undefined
  const validate = mode === 'strict' ? checks.strict : checks.basic
  if (validate(JSON.parse(body.toString('utf8')))) return undefined
  return fieldRefusal(validate.errors!)
}

/**
 * Compiles every route's checks in the modes `settings` asks for, before a gateway that will run for long takes its
 * first request (`parallama serve`): the first body on each route then pays nothing. A reload to another mode compiles
 * that mode's checks on first use.
 */
export function compileRouteChecks(settings: ValidationSettings): void {
  for (const checks of routeChecks().values()) {
    const mode = settings[checks.api]
    if (mode === 'strict') void checks.strict
    else if (mode === 'basic') void checks.basic
  }
}
