// Builds the gateway from a config: loads uWS, opens the backend pools, mounts the routes, listens; and closes it all.
import { loadUws, type us_listen_socket } from '../native/uws.js'
import { mountRoutes } from './api/routes.js'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import { closeBackends, createBackends, pickBackend, type Backend } from './proxy/backends.js'
import type { Exchange, ExchangeContext, ExchangeEnd, ExchangeResult } from './proxy/exchange.js'
import { markServer, rotateBackup } from './store/backup.js'
import { mkdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Accounting } from './usage/accounting.js'
import { Limiter, type Admission } from './limits/limiter.js'
import { RuleSet } from './limits/rules.js'
import { mountAdminRoutes } from './api/admin.js'
import { mountAuthRoutes } from './api/auth.js'
import type { Authenticate } from './auth/admit.js'
import type { Authenticator } from './auth/authenticator.js'
import { createIdentity, type Identity } from './auth/identity.js'
import { openStore, type Store } from './store/store.js'
import { ModelAliases } from './models/aliases.js'
import { AlertDispatcher } from './alerts/alertDispatcher.js'
import { GatewayMetrics } from './metrics/gatewayMetrics.js'
import { BackendHealth } from './proxy/backendHealth.js'
import { mountSystemRoutes } from './api/system.js'
import type { RouteLimits } from './limits/limiter.js'
import { PluginHost } from './plugins/loader.js'

export interface GatewayOptions {
  logger: Logger
  /** Called once per proxied request when it ends (usage accounting and metrics hook in here). */
  onRequestEnd?: ExchangeEnd
  /**
   * Bench only (`npm run bench` measures what each part costs; never reachable from config or the CLI): `proxy`
   * serves every route without credentials, limits or usage rows; `auth` checks credentials but applies no limits
   * and records no usage. Default: everything.
   */
  parts?: 'proxy' | 'auth' | 'all'
}

const unlimited: Admission = { headers: [], release: () => {} }

export interface Gateway {
  /** The port actually listened on (config may say 0 for any free port). */
  port: number
  backends: Backend[]
  store: Store
  authenticator: Authenticator
  accounting: Accounting
  /** The plugin chain; `plugins.reloaded` settles when a reload's chain is in place (or refused). */
  plugins: PluginHost
  /** Requests being proxied now. */
  readonly inFlight: number
  /**
   * Applies a new config without dropping a connection: backends, timeouts, request limits, log level, aliases and
   * prices. Returns the keys that changed but need a restart (listen address, database, ...).
   */
  reload(config: Config): string[]
  /**
   * Stops: no new connections or requests, requests in flight may finish within `drainMs` (default
   * server.drain_timeout) and are ended after it, usage is flushed, the database closed.
   */
  close(drainMs?: number): Promise<void>
}

/** The binding takes (host, port, options, callback); its published types omit that form. */
interface ExclusiveListen {
  listen(host: string, port: number, options: number, callback: (socket: us_listen_socket | false) => void): void
}

function exclusivePort(uws: object): number {
  return (uws as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT
}

export class ListenError extends Error {
  readonly code = 'listen_failed'
}

export async function startGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const { logger } = options
  // plugins: loaded first, so that a plugin that cannot load stops start-up before anything is opened.
  const plugins = await PluginHost.start(config.plugins, logger)
  const { uws, native } = loadUws({
    maxHeaderBytes: config.server.max_header_bytes,
    allowFallback: config.server.allow_js_fallback,
    warn: (message) => logger.warn(message),
  })
  const store = openStore(config.database, { migrate: config.database.migrate_on_start })
  let identity: Identity
  try {
    identity = createIdentity(config, store, logger)
  } catch (error) {
    store.close()
    throw error
  }
  const { authenticator, sessions } = identity
  authenticator.start()
  const authenticate: Authenticate = (credential) => authenticator.authenticate(credential)
  const accounting = new Accounting(store.db, config.database, config.usage, logger)
  accounting.start()
  const parts = options.parts ?? 'all'
  const onEnd: ExchangeEnd | undefined =
    parts !== 'all'
      ? options.onRequestEnd
      : options.onRequestEnd
        ? (result) => {
            accounting.record(result)
            options.onRequestEnd!(result)
          }
        : accounting.record
  const alerts = new AlertDispatcher(
    store.db,
    {
      thresholds: config.alerts.thresholds.split(',').map(Number),
      webhookUrl: config.alerts.webhook_url,
      webhookSecret: config.alerts.webhook_secret,
      retries: config.alerts.retries,
      retryDelayMs: config.alerts.retry_delay,
      timeoutMs: config.alerts.timeout,
    },
    logger,
  )
  const limiter = new Limiter(
    new RuleSet(store.limits.all()),
    (limit, principal, since, counts) => {
      const owner = limit.rule.subjectType === 'key' ? { keyId: principal.keyId! } : { userId: principal.userId }
      const api = limit.rule.gateway === '*' ? undefined : limit.rule.gateway
      return accounting.store.usedSince(since, owner, api, limit.rule.model || undefined, counts)
    },
    Date.now,
    alerts,
  )
  authenticator.changeListeners.push((changes) => {
    if (changes.some((change) => change.kind === 'limits_changed'))
      limiter.replaceRules(new RuleSet(store.limits.all()))
  })
  let backends = createBackends(config)
  const aliases = new ModelAliases(config.models.aliases)
  const live = new Set<Exchange>()
  const metrics = config.metrics.enabled
    ? new GatewayMetrics(
        {
          backends: () => backends,
          inFlight: () => {
            let streams = 0
            for (const exchange of live) if (exchange.streaming) streams++
            return { requests: live.size, streams }
          },
          usageQueue: () => ({
            ...accounting.recorder.stats,
            queued: accounting.recorder.queued,
            pending: accounting.recorder.pending,
          }),
          keyCache: () => authenticator.keys.stats,
          alerts: () => alerts.stats,
        },
        config.metrics.key_labels,
      )
    : undefined
  const health = new BackendHealth(() => backends, config.metrics.backend_check_interval)
  health.start()
  /** Every request's end, after accounting: counted for /metrics and logged. */
  const observeEnd = (result: ExchangeResult) => {
    metrics?.observe(result)
    if (context.config.log.requests && logger.enabled('info')) logger.info('request', requestLine(result))
  }
  const app = uws.App()
  // The address guard and the callers' limits, for every route (the JSON routes and the proxied ones).
  const limits: RouteLimits =
    parts === 'all'
      ? {
          admit: (principal, api, model, tokenEstimate, quotas) =>
            limiter.admit(principal, api, model, tokenEstimate, quotas),
          admitAddress: (address, api) => limiter.admitAddress(address, api),
        }
      : { admit: () => unlimited, admitAddress: () => undefined }
  mountAuthRoutes(app, { authenticate, logger, limits, sessions, store })
  mountAdminRoutes(app, {
    authenticate,
    logger,
    limits,
    store,
    usage: accounting.store,
    flushUsage: () => accounting.recorder.settled(),
  })
  const context: ExchangeContext = {
    config,
    logger,
    authenticate,
    backends,
    pick: (skip) => pickBackend(backends, skip),
    onEnd: onEnd
      ? (result) => {
          onEnd(result)
          observeEnd(result)
        }
      : observeEnd,
    usageHeaders: accounting.usageHeaders,
    aliases,
    live,
    open: parts === 'proxy',
    plugins,
    admit: limits.admit,
    admitAddress: limits.admitAddress,
  }
  mountSystemRoutes(app, {
    authenticate,
    logger,
    limits,
    config: () => context.config,
    db: store.db,
    backends: () => backends,
    health,
    metrics,
    aliases,
  })
  mountRoutes(app, context)
  const { host, port } = config.server
  // Exclusive: by default uSockets sets SO_REUSEPORT, and a second gateway on the same port would silently split
  // traffic. (The JS fallback listens with node:net, which never shares, and has no options argument.)
  const listenSocket = await new Promise<us_listen_socket | false>((resolve) => {
    if (native) (app as unknown as ExclusiveListen).listen(host, port, exclusivePort(uws), resolve)
    else app.listen(host, port, resolve)
  })
  if (!listenSocket) {
    health.stop()
    metrics?.close()
    await accounting.close()
    authenticator.stop()
    store.close()
    await closeBackends(backends)
    throw new ListenError(`cannot listen on ${host}:${port} (address in use, not local, or not permitted)`)
  }
  const actualPort = uws.us_socket_local_port(listenSocket)
  logger.info('listening', { host, port: actualPort, native, backends: backends.map((backend) => backend.url) })
  const unmark = markServer(config.database.path)
  const backups = scheduleBackups(config.database, logger)
  let closed = false
  return {
    port: actualPort,
    get backends() {
      return backends
    },
    store,
    authenticator,
    accounting,
    plugins,
    get inFlight() {
      return live.size
    },
    reload(next) {
      const restart = needsRestart(context.config, next)
      if (JSON.stringify(next.backends) !== JSON.stringify(context.config.backends)) {
        const old = backends
        backends = createBackends(next)
        context.backends = backends
        // Requests on the old pools finish there; the pools close once they are done.
        void closeBackends(old)
      }
      context.config = next
      aliases.replace(next.models.aliases)
      accounting.reprice(next.usage)
      logger.level = next.log.level
      // plugins: a chain that fails to load keeps the running one (logged); the old one closes after the drain timeout.
      void plugins.reload(next.plugins, next.server.drain_timeout)
      return restart
    },
    async close(drainMs = context.config.server.drain_timeout) {
      if (closed) return
      closed = true
      uws.us_listen_socket_close(listenSocket)
      context.draining = true
      await waitFor(() => live.size === 0, drainMs)
      if (live.size > 0) {
        logger.warn('ending requests still running after the drain timeout', { requests: live.size })
        for (const exchange of live) exchange.shutdown()
        await waitFor(() => live.size === 0, 2000)
      }
      clearInterval(backups)
      health.stop()
      metrics?.close()
      ;(app as unknown as { close(): void }).close()
      await closeBackends(backends)
      await accounting.close()
      await plugins.close()
      authenticator.stop()
      unmark()
      store.close()
    },
  }
}

/** Resolves when `done()` holds, or after `ms`. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await sleep(Math.min(50, Math.max(1, deadline - Date.now())))
}

/** What a reload cannot change while running: listening, the database, credentials' secrets and pools' sizes. */
function needsRestart(current: Config, next: Config): string[] {
  const keys: string[] = []
  const sections = ['server', 'database', 'auth', 'upstream', 'usage'] as const
  const live = new Set([
    'server.drain_timeout',
    'usage.currency',
    'usage.default_prompt_price',
    'usage.default_completion_price',
    'usage.prices',
  ])
  for (const section of sections) {
    const before = current[section] as Record<string, unknown>
    const after = next[section] as Record<string, unknown>
    for (const key of Object.keys(after)) {
      const name = `${section}.${key}`
      if (!live.has(name) && JSON.stringify(before[key]) !== JSON.stringify(after[key])) keys.push(name)
    }
  }
  return keys
}

/** The request's log line: who (ids, never a credential), what, how it ended, its tokens and timings. */
function requestLine(result: ExchangeResult): Record<string, unknown> {
  return {
    request_id: result.requestId,
    user_id: result.userId,
    key_id: result.keyId,
    api: result.api,
    route: result.route,
    model: result.model,
    backend: result.backend,
    status: result.status,
    error: result.errorCode,
    prompt_tokens: result.usage?.promptTokens,
    completion_tokens: result.usage?.completionTokens,
    ttfb_ms: result.firstByteAt > 0 ? Math.round((result.firstByteAt - result.startedAt) * 10) / 10 : undefined,
    duration_ms: Math.round((result.endedAt - result.startedAt) * 10) / 10,
    client_ip: result.clientIp,
    aborted: result.clientAborted || undefined,
  }
}

/** The scheduled backup (database.backup_dir), if configured. */
function scheduleBackups(database: Config['database'], logger: Logger): NodeJS.Timeout | undefined {
  if (!database.backup_dir) return undefined
  const run = () => {
    mkdirSync(database.backup_dir, { recursive: true, mode: 0o750 })
    rotateBackup(database.path, database.backup_dir, database.backup_keep).then(
      (file) => logger.info('scheduled backup written', { file }),
      (error: unknown) => logger.error('scheduled backup failed', { err: error }),
    )
  }
  const timer = setInterval(run, database.backup_interval)
  timer.unref()
  return timer
}
