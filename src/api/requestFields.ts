// What the gateway reads from a request body before forwarding it, whatever the API: which model runs (after
// aliases), whether the reply streams, how many tokens it may generate, and the body to send when it had to change.
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'

export interface RequestFields {
  /** The models the request names, aliases resolved (what really runs; copy names two; most name one). */
  models: string[]
  stream: boolean
  /** The most tokens the reply may generate, when the request sets a positive limit. */
  predict: number | undefined
  /** The alias the client named for models[0], when it used one. */
  alias?: string
  /** The body to send upstream, when it differs from the client's (an alias replaced, include_usage added). */
  rewritten?: Buffer
  /** A streamed OpenAI request whose client asked for the usage chunk itself (else the gateway removes it). */
  clientWantsUsage?: boolean
}

/** The body as a JSON object, or the 400 that says why it is not one. */
export function parseObject(body: Buffer): Record<string, unknown> | GatewayError {
  if (body.length === 0) return new GatewayError('invalid_request', 'missing request body')
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (error) {
    return new GatewayError('invalid_json', `request body is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new GatewayError('invalid_json', 'request body must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

/** A positive token limit from a field, rounded up; undefined when absent or not a positive number. */
export function positive(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? Math.ceil(value) : undefined
}

/**
 * Replaces an alias in `fields[key]` by its model. Returns the alias when one was replaced (the body must then be
 * sent rewritten).
 */
export function resolveAlias(
  fields: Record<string, unknown>,
  key: string,
  aliases: ModelAliases | undefined,
): string | undefined {
  const named = fields[key]
  if (!aliases || typeof named !== 'string') return undefined
  const target = aliases.targetOf(named)
  if (target === undefined) return undefined
  fields[key] = target
  return named
}
