// A batch line as a normal request of the batch's owner: the same proxied route handler a client's request runs
// (proxyHandler.ts, every stage in order: limits, quotas, the model allow-list, plugins, schedule, forward, the usage
// row, metrics, the log, events), run in-process on a synthetic request (src/batch/syntheticHttp.ts). Two stages
// differ, because the request comes from inside: the address guard admits it (the batch was created from an address
// the policy allowed), and authenticate finds the owner through a one-time internal credential that never leaves the
// process. The owner's principal is read again for every line, so a key revoked or a user disabled since stops the
// batch's lines as it stops their other requests.
import { randomBytes } from 'node:crypto'
import type { Principal } from '../auth/principal.js'
import { GatewayError } from '../errors.js'
import type { ModelAliases } from '../models/aliases.js'
import type { BatchEndpoint } from '../batch/lineCheck.js'
import { runSynthetic, type SyntheticAnswer } from '../batch/syntheticHttp.js'
import { openAiSpec } from './openai.js'
import type { ProxyStages } from './pipeline.js'
import { proxyHandler } from './proxyHandler.js'
import { proxyRoutes } from './routeTable.js'

/** One line to run: whose, where, the body, and the request id its usage row and log line carry. */
export interface LineRequest {
  owner: () => Principal | GatewayError
  endpoint: BatchEndpoint
  body: Buffer
  requestId: string
}

export type RunLine = (line: LineRequest) => Promise<SyntheticAnswer>

/**
 * The batch line runner over the gateway's stages. `schedule`: the stage batch lines wait in (the scheduler at low
 * priority), in place of the interactive one.
 */
export function batchLineRunner(
  stages: ProxyStages,
  aliases: ModelAliases,
  schedule: ProxyStages['schedule'],
): RunLine {
  const owners = new Map<string, Principal | GatewayError>()
  const lineStages: ProxyStages = {
    ...stages,
    addressGuard: () => undefined,
    authenticate: (access, credential) => {
      const owner = credential === undefined ? undefined : owners.get(credential)
      if (owner === undefined) return new GatewayError('invalid_api_key', 'unknown internal batch credential')
      if (owner instanceof GatewayError) return owner
      if (access !== 'public' && access !== 'authenticated' && !owner.permissions.has(access)) {
        return new GatewayError('permission_denied')
      }
      return owner
    },
    schedule: schedule ?? stages.schedule,
  }
  const context = {
    aliases,
    get config() {
      return stages.config.current
    },
  }
  const handlers = new Map(
    proxyRoutes('openai')
      .filter((route) => ['chat_completions', 'completions', 'embeddings'].includes(route.name))
      .map((route) => {
        const path = route.paths[0]!
        return [path, proxyHandler(openAiSpec(route, path, context), lineStages)] as const
      }),
  )
  return async (line) => {
    const handler = handlers.get(line.endpoint)!
    const credential = `batch-${randomBytes(16).toString('hex')}`
    owners.set(credential, lineOwner(line.owner()))
    try {
      return await runSynthetic(handler, {
        method: 'POST',
        path: line.endpoint,
        headers: {
          authorization: `Bearer ${credential}`,
          'content-type': 'application/json',
          'x-request-id': line.requestId,
        },
        body: line.body,
      })
    } finally {
      owners.delete(credential)
    }
  }
}

/**
 * The owner as a line's caller: the credential's address allow-list and signing were checked when the batch was
 * created (the lines come from the gateway itself), everything else (role, models, limits, weight) stays.
 */
function lineOwner(owner: Principal | GatewayError): Principal | GatewayError {
  if (owner instanceof GatewayError) return owner
  return { ...owner, allowsAddress: undefined, signingSecret: undefined }
}
