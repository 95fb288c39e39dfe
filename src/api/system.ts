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
import { jsonRoute, type JsonRouteContext } from './jsonRoute.js'
import { ollamaMounts } from './ollama.js'
import { openAiMounts } from './openai.js'
import { mountMethods } from './routes.js'

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
  const get = (path: string, route: string, handler: Parameters<typeof jsonRoute>[2]) =>
    mountMethods(app, path, ['GET'], jsonRoute(route, context, handler), 'problem')
  get('/health', 'system.health', () => ({
    status: 200,
    body: { status: 'ok', uptime_seconds: Math.round((Date.now() - startedAt) / 1000) },
  }))
  get('/ready', 'system.ready', async () => {
    await context.health.ensureChecked()
    const reasons: string[] = []
    const database = databaseWritable(context.db, context.config().database.busy_timeout)
    if (database) reasons.push(`database: ${database}`)
    if (!context.health.anyUp()) {
      const failures = context.backends().map((backend) => `${backend.name}: ${backend.lastError ?? 'no answer yet'}`)
      reasons.push(`no backend answered /api/version recently (${failures.join('; ')})`)
    }
    return { status: reasons.length === 0 ? 200 : 503, body: { ready: reasons.length === 0, reasons } }
  })
  let allowed = allowList(context.config().metrics.allow_from)
  let allowedFrom = context.config().metrics.allow_from
  get('/metrics', 'system.metrics', ({ request }) => {
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
    }
    return { status: 200, text: context.metrics.render(), contentType: 'text/plain; version=0.0.4; charset=utf-8' }
  })
  get('/discovery', 'system.discovery', async ({ principal }) => {
    await context.health.ensureChecked()
    const backends = context.backends().map((backend) => ({
      name: backend.name,
      up: context.health.isUp(backend),
      outstanding: backend.outstanding,
    }))
    const models = await availableModels(context, (model) => principal!.allowsModel(model))
    return {
      status: 200,
      body: {
        apis: {
          ollama: { enabled: true, mounts: ['/api', ...ollamaMounts.slice(1)] },
          openai: { enabled: true, mounts: openAiMounts },
        },
        backends,
        models,
      },
    }
  })
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
