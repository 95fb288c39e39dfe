// ETag and If-Match on the admin API's single objects, so that two admins cannot overwrite each other's change
// unseen (RFC 9110 §8.8.3, §13.1.1). The tag is the object's version (src/admin/version.ts) in quotes: strong, as
// If-Match compares strongly. The service checks it in its write transaction, against the row as it is then, so a
// change that lands between an admin's read and write (by the API or the CLI) is caught.

/** The ETag header of an object at `version`. */
export function etag(version: string): string {
  return `"${version}"`
}

/**
 * What an If-Match header (absent, `*`, or a list of entity tags) allows: a test of the object's current version, or
 * undefined when anything goes. A weak tag never matches (strong comparison); a header that does not parse matches
 * nothing, so a garbled precondition fails safe (412) instead of being ignored.
 */
export function ifMatch(header: string | undefined): ((version: string) => boolean) | undefined {
  if (header === undefined || header.trim() === '') return undefined
  if (header.trim() === '*') return () => true
  const tags = header.split(',').map((tag) => tag.trim())
  const strong = tags.filter((tag) => /^"[\x21\x23-\x7e]*"$/.test(tag)).map((tag) => tag.slice(1, -1))
  return (version) => strong.includes(version)
}

/** An answer holding one object, with its ETag. */
export function withEtag(status: number, body: unknown, version: string) {
  return { status, body, headers: { etag: etag(version) } }
}
