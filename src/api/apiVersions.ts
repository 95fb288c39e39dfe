// The management APIs' versions and the deprecation of the unversioned /auth paths (docs/api-versioning.md): the
// dates, and the headers a deprecated path answers with (RFC 9745 Deprecation, RFC 8594 Sunset, RFC 8288 Link).

/** The day the unversioned /auth paths were deprecated (the day /auth/v1 appeared). */
export const authAliasDeprecatedAt = Date.UTC(2026, 11, 1)
/** The day after which the unversioned /auth paths may stop answering: a year after their deprecation. */
export const authAliasSunsetAt = Date.UTC(2027, 11, 1)

/**
 * The headers of an answer on a deprecated path, flat [name, value, ...]: when it was deprecated (a structured-field
 * date: `@` and Unix seconds), when it goes (an HTTP-date), and the path that replaces it.
 */
export function deprecationHeaders(successor: string, deprecatedAt: number, sunsetAt: number): string[] {
  return [
    'deprecation',
    `@${Math.floor(deprecatedAt / 1000)}`,
    'sunset',
    new Date(sunsetAt).toUTCString(),
    'link',
    `<${successor}>; rel="successor-version"`,
  ]
}

/**
 * The successor of a request path on a deprecated route: the canonical path template with the request's parameters
 * put in. Both templates have the same segments after their prefixes (routeTable.ts).
 */
export function successorPath(requestPath: string, deprecated: string, canonical: string): string {
  const given = requestPath.split('/')
  const template = deprecated.split('/')
  const params = template.flatMap((segment, index) => (segment.startsWith(':') ? [given[index] ?? ''] : []))
  let next = 0
  return canonical
    .split('/')
    .map((segment) => (segment.startsWith(':') ? pathSafe(params[next++] ?? '') : segment))
    .join('/')
}

/** A raw path segment as it came (already percent-encoded), with anything that could end the Link's `<...>` encoded. */
function pathSafe(segment: string): string {
  return segment.replace(/[^\w.~%!$&'()*+,;=:@-]/g, (char) => encodeURIComponent(char))
}
