// The credential a request presents: `Authorization: Bearer <key or token>` (what the ollama and openai clients send),
// else `x-api-key: <key>`.

/** '' when the request presents none; undefined when Authorization is there but not a Bearer credential. */
export function presentedCredential(authorization: string, apiKey: string): string | undefined {
  if (authorization === '') return apiKey.trim()
  if (authorization.trim().toLowerCase() === 'bearer') return ''
  const space = authorization.indexOf(' ')
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== 'bearer') return undefined
  return authorization.slice(space + 1).trim()
}
