// Request validation (docs/validation.md): each route's body checked against its schema (ollamaSchemas.ts,
// openaiSchemas.ts) in the mode its API is configured for. The schemas are compiled once per process, the first time a
// gateway mounts its routes; a request only runs the compiled function. A body larger than
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

/** One route's compiled checks. */
export interface RouteChecks {
  api: 'ollama' | 'openai'
  strict: ValidateFunction
  basic: ValidateFunction
}

let compiled: ReadonlyMap<string, RouteChecks> | undefined

/** Every route's checks by `<api>.<name>`, compiled on the first call (at start), the same map after. */
export function routeChecks(): ReadonlyMap<string, RouteChecks> {
  if (compiled) return compiled
  // strictSchema: Ajv refuses a schema with an unknown keyword, so a typo in ours fails at start (strictTypes would
  // also ask every if/then part to repeat its parent's type: noise).
  // verbose: a failure carries the value and the schema it failed (for the message); nothing is added on success.
  const ajv = new Ajv({
    allErrors: false,
    verbose: true,
    strictSchema: true,
    strictTypes: false,
    allowUnionTypes: true,
  })
  for (const part of sharedSchemas.values()) ajv.addSchema(part)
  const checks = new Map<string, RouteChecks>()
  const add = (api: 'ollama' | 'openai', schemas: Readonly<Record<string, Schema>>) => {
    for (const [name, schema] of Object.entries(schemas)) {
      checks.set(`${api}.${name}`, { api, strict: ajv.compile(schema), basic: ajv.compile(basicSchema(schema)) })
    }
  }
  add('ollama', ollamaSchemas)
  add('openai', openAiSchemas)
  compiled = checks
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
