// What the gateway reads from a request body before forwarding it, whatever the API: which models the request names
// (what runs, after aliases), whether the reply streams, how many tokens it may generate, and the body to send when it
// had to change. The values come from jsonFields.ts (read as Ollama's Go decoder reads them); the rules for model
// names and token limits, the same on every route, are here.
import { FieldRefusal, GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import { pointerOfPath, type Edit, type FieldValue } from './jsonFields.js'

export interface RequestFields {
  /**
   * The models the request names, aliases resolved: models[0] is the one it runs or acts on (recorded and limited as
   * the request's model); the others are the ones it uses besides (copy's source, create's `from`). All are checked
   * against the caller's allow-list.
   */
  models: string[]
  stream: boolean
  /** The most tokens the reply may generate, when the request sets a positive limit that Ollama applies. */
  predict: number | undefined
  /** The alias the client named for models[0], when it used one. */
  alias?: string
  /** The body to send upstream, when it differs from the client's (an alias replaced, include_usage added). */
  rewritten?: Buffer
  /** A field naming what the request uses by digest or address (create's files), which no allow-list can check. */
  unchecked?: string
  /** A streamed OpenAI request whose client asked for the usage chunk itself (else the gateway removes it). */
  clientWantsUsage?: boolean
  /** The edits `rewritten` was made with (positions in the client's body), for a later change to join them. */
  edits?: Edit[]
  /** Where the token limit Ollama applies is, or would go (routes that generate): to hold a reply to a quota. */
  tokenField?: TokenField
}

/** A request's token limit field, as found: enough to set it to a number whether or not the body has it. */
export interface TokenField {
  /** Its key: `num_predict` (inside `options`), `max_tokens` or `max_output_tokens` (at the top). */
  name: string
  /** Its value (kind 'null' when null); undefined when absent. */
  value: FieldValue | undefined
  /** num_predict only: the `options` object (kind 'null' when null; undefined when absent). */
  options?: FieldValue | undefined
  inOptions: boolean
  /** Another limit a fork of Ollama may apply instead (max_completion_tokens): lowered to the cap too when above it. */
  other?: FieldValue | undefined
}

/**
 * The edits that set a request's token limit to `cap`: its value replaced, or the key added (with `options` when
 * there is none). Positions are in the client's body; the top-level object always has a member (its model).
 */
export function tokenCapEdits(body: Buffer, field: TokenField, cap: number): Edit[] {
  const text = String(cap)
  const edits: Edit[] = []
  const other = given(field.other)
  if (other && (other.value as number) > cap) edits.push({ start: other.start, end: other.end, text })
  if (field.value) {
    edits.push({ start: field.value.start, end: field.value.end, text })
    return edits
  }
  const top = body.indexOf(0x7b) + 1
  if (!field.inOptions) {
    edits.push({ start: top, end: top, text: `"${field.name}":${text},` })
    return edits
  }
  const options = field.options
  if (options === undefined) {
    edits.push({ start: top, end: top, text: `"options":{"${field.name}":${text}},` })
  } else if (options.kind === 'null') {
    edits.push({ start: options.start, end: options.end, text: `{"${field.name}":${text}}` })
  } else {
    let first = options.start + 1
    while (body[first] === 0x20 || body[first] === 0x0a || body[first] === 0x0d || body[first] === 0x09) first++
    const empty = body[first] === 0x7d
    edits.push({ start: options.start + 1, end: options.start + 1, text: `"${field.name}":${text}${empty ? '' : ','}` })
  }
  return edits
}

/**
 * The longest model name Ollama accepts (types/model/name.go): `https://`, a host of 350, namespace, model and tag of
 * 80 each with their separators, and an `@sha256-…` digest (72). Anything longer is refused before it reaches a log
 * line or a usage row.
 */
export const maxModelNameLength = 8 + 350 + 1 + 80 + 1 + 80 + 1 + 80 + 72

/**
 * Token limits a client may set (num_predict, max_tokens, ...): integers from -2 (Ollama: fill the context) and -1
 * (no limit) up to the largest 32-bit integer. Anything else — fractions, 1e300, 1e999, -5 — is refused.
 */
export const tokenLimitRange = { min: -2, max: 2 ** 31 - 1 } as const

/**
 * The most tokens one request ever reserves from token limits and quotas (its own limit, or the configured guess,
 * plus its prompt): a finite integer, so sums and settlements stay exact. A request asking for more reserves this,
 * which is more than any token limit a gateway would set: it is admitted only while its caller has tokens left.
 */
export const maxTokenEstimate = 2 ** 31 - 1

/** A field the body has (not absent, not null). */
export function given(value: FieldValue | undefined): FieldValue | undefined {
  return value === undefined || value.kind === 'null' ? undefined : value
}

/**
 * The model name a field holds (a string that Ollama could take for a model name: 1 to maxModelNameLength visible
 * ASCII characters), undefined when absent, or the 400 that says why not.
 */
export function modelName(value: FieldValue | undefined, key: string): string | undefined | GatewayError {
  const field = given(value)
  if (field === undefined) return undefined
  const name = field.value as string
  if (name === '') return undefined
  if (name.length > maxModelNameLength) {
    return new GatewayError(
      'invalid_request',
      `"${key}" is not a model name: ${name.length} characters, Ollama accepts at most ${maxModelNameLength}`,
    )
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c <= 0x20 || c >= 0x7f) {
      return new GatewayError(
        'invalid_request',
        `"${key}" is not a model name: character ${JSON.stringify(name[i])} at ${i} (names are letters, digits and ._-:/@+)`,
      )
    }
  }
  return name
}

/**
 * A token limit's value: the limit when positive (what bounds the reply), undefined when absent or not positive
 * (Ollama applies no limit), or the 400 naming the field. `goInt`: Ollama decodes the field into a Go int, which
 * refuses a literal with a fraction or exponent (`1.0`, `1e3`); num_predict goes through a float and is truncated, so
 * there only the value must be an integer.
 */
export function tokenLimit(
  value: FieldValue | undefined,
  key: string,
  goInt: boolean,
): number | undefined | GatewayError {
  const field = given(value)
  if (field === undefined) return undefined
  const limit = field.value as number
  const { min, max } = tokenLimitRange
  const integerLiteral = !goInt || /^-?(0|[1-9][0-9]*)$/.test(field.literal!)
  if (!integerLiteral || !Number.isInteger(limit) || limit < min || limit > max) {
    return new FieldRefusal(
      pointerOfPath(key),
      `"${key}" must be an integer from ${min} to ${max} (got ${field.literal!.slice(0, 40)})`,
    )
  }
  return limit > 0 ? limit : undefined
}

/**
 * Replaces an alias in a model-naming field by its model: the edit to make (the value's bytes replaced) and the alias,
 * or undefined when `name` is no alias.
 */
export function aliasEdit(
  name: string,
  value: FieldValue,
  aliases: ModelAliases | undefined,
): { target: string; edit: Edit } | undefined {
  const target = aliases?.targetOf(name)
  if (target === undefined) return undefined
  return { target, edit: { start: value.start, end: value.end, text: JSON.stringify(target) } }
}
