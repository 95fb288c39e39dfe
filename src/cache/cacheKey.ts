// The cache key: SHA-256 over the route, the model's digest, the scope (whose answers may be shared) and the body the
// backend acts on in canonical form (canonicalBody.ts), minus only the members that cannot change the reply. Every
// part is length-prefixed, so no two different part lists hash the same bytes.
import { hash } from 'node:crypto'
import { canonicalText, type JsonNode } from './canonicalBody.js'

/**
 * Top-level members that change nothing in the reply: `keep_alive` only says how long the model stays loaded after.
 * `stream` is not one (streamed and whole replies are separate entries); nor is `stream_options`: the body keyed is the
 * one sent upstream, where the gateway always asks for the usage chunk, so a client's include_usage is never in it
 * and the replay removes the usage chunk for a client that did not ask (docs/cache.md, "the key").
 */
export const notInKey: ReadonlySet<string> = new Set(['keep_alive'])

const surrogate = /[\ud800-\udfff]/

export interface KeyParts {
  /** `<api>.<name>`. */
  route: string
  /** The upstream query string ('' without one): forwarded to the backend, so part of what it acts on. */
  query: string
  digest: string
  /** `user:<id>` or `global`. */
  scope: string
  body: JsonNode
}

export function cacheKey(parts: KeyParts): string {
  const body = canonicalText(parts.body, notInKey)
  // One string hashed at once (one-shot hash: a third of the incremental API's cost on short bodies); each part is
  // prefixed with its length in UTF-16 units, which the hashed UTF-8 bytes determine.
  let text =
    `${parts.route.length}:${parts.route}${parts.query.length}:${parts.query}${parts.digest.length}:${parts.digest}` +
    `${parts.scope.length}:${parts.scope}${body.length}:${body}`
  // UTF-8 turns every lone surrogate into U+FFFD: text with surrogates (a query, a backend's digest) is hashed as a
  // JSON array instead, which escapes them (and starts with '[', never a digit: the two forms never meet).
  if (surrogate.test(text)) text = JSON.stringify([parts.route, parts.query, parts.digest, parts.scope, body])
  return hash('sha256', text, 'hex')
}
