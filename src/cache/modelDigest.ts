// The digest of the model a request runs, as the backends' /api/tags last said: part of the cache key, so that a
// model pulled again (new weights, new template) never answers with the old one's replies. Known only when every
// backend's inventory is known and every backend that has the model names the same digest; otherwise the request
// bypasses the cache (which backend would answer, and with which weights, is not known).
import type { Backend } from '../proxy/backends.js'
import type { BypassReason } from './cachePolicy.js'

/** The digest, or why there is none. */
export type ModelDigest = { digest: string } | Extract<BypassReason, 'digest_unknown' | 'digest_differs'>

export function modelDigest(backends: readonly Backend[], model: string): ModelDigest {
  let digest: string | undefined
  for (const backend of backends) {
    const installed = backend.inventory.installedFacts
    if (installed === undefined) return 'digest_unknown'
    const facts = installed.get(model)
    if (facts === undefined) continue
    if (facts.digest === null) return 'digest_unknown'
    if (digest !== undefined && digest !== facts.digest) return 'digest_differs'
    digest = facts.digest
  }
  return digest === undefined ? 'digest_unknown' : { digest }
}
