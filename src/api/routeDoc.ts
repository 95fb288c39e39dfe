// What an admin route documents about itself, next to its entry in the route table: a summary and JSON Schemas
// (2020-12, the dialect OpenAPI 3.1 uses) of its query, body and answers. The OpenAPI document (openApi.ts) and the
// tests' shape checks (test/helpers/expectMatches.ts) read the same objects, so the served API, its document and
// its tests cannot drift apart. Pure data: no handler imports it.

/** A JSON Schema object as written in the schema files; checked by the OpenAPI validator in the tests. */
export type JsonSchema = { readonly [keyword: string]: unknown }

export interface RouteDoc {
  summary: string
  /** An object schema: each property is one query parameter. */
  query?: JsonSchema
  body?: JsonSchema
  /** Each documented status and its body; null for an answer without one. Any other error: a problem (`default`). */
  responses: Record<number, JsonSchema | null>
  /** A single object: its 2xx answers carry an ETag, and a change to it honours If-Match (412 on a mismatch). */
  etag?: true
}
