// Operations endpoints: /health (the process answers), /ready (the database takes writes and a backend answers),
// /metrics (Prometheus; allow-listed addresses, or view_metrics), /discovery (the APIs, their backends, and the
// models the caller may use).
import { BlockList } from 'node:net'
import type { TemplatedApp } from '../../native/uws.js'
import { admit } from '../auth/admit.js'
import { normalizeModel } from '../auth/modelAllowList.js'
import type { Config } from '../config/schema.js'
import { GatewayError } from '../errors.js'
import { parseRange } from '../limits/rules.js'
import type { GatewayMetrics } from '../metrics/gatewayMetrics.js'
import type { ModelAliases } from '../models/aliases.js'
import type { BackendHealth } from '../proxy/backendHealth.js'
import type { Backend } from '../proxy/backends.js'
import type { Db } from '../store/database.js'
import { backendLabel, hasConfiguredName, seesBackendAddresses } from '../proxy/upstreamErrors.js'
import type { JsonRouteContext } from './jsonRoute.js'
import { mountLocalRoutes } from './routes.js'
import { ollamaMounts, openAiMounts } from './routeTable.js'

export interface SystemRoutesContext extends JsonRouteContext {
  config: () => Config
  db: Db
  backends: () => Backend[]
  health: BackendHealth
  metrics: GatewayMetrics | undefined
  aliases: ModelAliases
}

const startedAt = Date.now()

export function mountSystemRoutes(app: TemplatedApp, context: SystemRoutesContext): void {
  let allowed = allowList(context.config().metrics.allow_from)
  let allowedFrom = context.config().metrics.allow_from
  // The probes (health, ready) are exempt from the address guard and limits (see RouteGuard): constant work, no
  // credential.
  mountLocalRoutes(app, 'system', context, {
    health: () => ({
      status: 200,
      body: { status: 'ok', uptime_seconds: Math.round((Date.now() - startedAt) / 1000) },
    }),
    ready: async () => {
      await context.health.ensureChecked()
      const reasons: string[] = []
      const database = databaseWritable(context.db, context.config().database.busy_timeout)
      if (database) reasons.push(`database: ${database}`)
      if (!context.health.anyUp()) {
        // Anyone may ask: backends by a configured name or their place in the list, never by address.
        const failures = context
          .backends()
          .map((backend, index) => `${publicName(backend, index)}: ${backend.lastError ?? 'no answer yet'}`)
        reasons.push(`no backend answered /api/version recently (${failures.join('; ')})`)
      } else if (context.backends().every((backend) => backend.draining)) {
        // Nothing new would be served: a load balancer should send the traffic to another gateway meanwhile.
        reasons.push('every backend is drained (POST /admin/v1/backends/{name}/undrain puts one back in service)')
      }
      return { status: reasons.length === 0 ? 200 : 503, body: { ready: reasons.length === 0, reasons } }
    },
    metrics: ({ request, limitCaller }) => {
      const config = context.config().metrics
      if (!context.metrics || !config.enabled) return new GatewayError('not_found', 'metrics are off (metrics.enabled)')
      if (config.allow_from !== allowedFrom) {
        allowed = allowList(config.allow_from)
        allowedFrom = config.allow_from
      }
      const address = request.clientIp
      if (!allowed.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) {
        const principal = admit(context.authenticate, 'view_metrics', request.credential)
        if (principal instanceof GatewayError) return principal
        const refused = limitCaller(principal)
        if (refused) return refused
      }
      return { status: 200, text: context.metrics.render(), contentType: 'text/plain; version=0.0.4; charset=utf-8' }
    },
    discovery: async ({ principal }) => {
      await context.health.ensureChecked()
      // Addresses for admins only: others see a backend's configured name, or no name at all.
      const admin = seesBackendAddresses(principal)
      const backends = context.backends().map((backend) => ({
        name: backendLabel(backend, principal),
        url: admin ? backend.url : undefined,
        up: context.health.isUp(backend),
        outstanding: backend.outstanding,
      }))
      const models = await availableModels(context, (model) => principal!.allowsModel(model))
      return {
        status: 200,
        body: {
          apis: {
            ollama: { enabled: true, mounts: [...ollamaMounts] },
            openai: { enabled: true, mounts: [...openAiMounts] },
          },
          backends,
          models,
        },
      }
    },
  })
}

/** A backend as anyone may see it named: its configured name, else `backend N` (its place in the config). */
function publicName(backend: Backend, index: number): string {
  return hasConfiguredName(backend) ? backend.name : `backend ${index + 1}`
}

/** undefined when the database takes writes; else why not. Another writer holding the lock still means writable. */
function databaseWritable(db: Db, busyTimeoutMs: number): string | undefined {
  try {
    db.pragma('busy_timeout = 0')
    db.exec('BEGIN IMMEDIATE')
    db.exec('ROLLBACK')
    return undefined
  } catch (error) {
    const code = (error as { code?: string }).code
    return code === 'SQLITE_BUSY' ? undefined : `${code ?? 'error'}: ${(error as Error).message}`
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
  }
}

function allowList(text: string): BlockList {
  const list = new BlockList()
  for (const cidr of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const parsed = parseRange(cidr)
    if (!parsed) continue
    const [address] = cidr.split('/')
    list.addSubnet(address!, parsed.prefix, address!.includes(':') ? 'ipv6' : 'ipv4')
  }
  return list
}

/** The models of the first answering backend that the caller may use, and the aliases of those. */
async function availableModels(context: SystemRoutesContext, allows: (model: string) => boolean): Promise<string[]> {
  for (const backend of context.backends().filter((candidate) => context.health.isUp(candidate))) {
    try {
      const response = await backend.pool.request({ path: '/api/tags', method: 'GET', headersTimeout: 2000 })
      const tags = (await response.body.json()) as { models?: { name?: unknown }[] }
      const names = (tags.models ?? [])
        .map((model) => model.name)
        .filter((name): name is string => typeof name === 'string')
      const allowed = names.filter(allows)
      const present = new Set(allowed.map(normalizeModel))
      const aliases = context.aliases.entries.filter((entry) => present.has(normalizeModel(entry.model)))
      return [...allowed, ...aliases.map((entry) => entry.alias)].sort()
    } catch {
      continue
    }
  }
  return []
}
