// Builds the gateway from a config: composes the rooms (store, identity, usage, limits, backends, metrics), the stages
// of the request path (src/api/pipeline.ts) and the routes, listens; its lifecycle (reload, shutdown) is lifecycle.ts.
import { backendState } from './proxy/backendStatus.js'
import { mkdirSync } from 'node:fs'
import { loadUws, type TemplatedApp } from '../native/uws.js'
import { Listener } from './http/listener.js'
import { mountAdminRoutes } from './api/admin.js'
import { mountAuthRoutes } from './api/auth.js'
import { dashboardDir, mountDashboard } from './api/dashboard.js'
import { readFieldsWith, type ProxyStages, type RequestStages } from './api/pipeline.js'
import type { RequestState } from './api/requestState.js'
import { mountLocalRoutes, mountRoutes } from './api/routes.js'
import { batchLineRunner } from './api/batchLines.js'
import { startBatches } from './api/batchService.js'
import { idleSlotStage } from './scheduler/idleSlotStage.js'
import { mountSystemRoutes } from './api/system.js'
import { loadStaticFiles } from './http/staticFiles.js'
import { authenticateStage } from './auth/authenticateStage.js'
import type { Authenticator } from './auth/authenticator.js'
import { authorizeModels } from './auth/authorize.js'
import { createIdentity, type Identity } from './auth/identity.js'
import type { Config } from './config/schema.js'
import { Limiter } from './limits/limiter.js'
import { RuleSet } from './limits/rules.js'
import { allowListGuard } from './limits/addressGuard.js'
import { liveAddressList, liveTrustedProxies } from './limits/addressList.js'
import { SignatureVerifier } from './auth/requestSignature.js'
import { Lifecycle, type Running } from './lifecycle.js'
import type { Logger } from './logger.js'
import { GatewayMetrics } from './metrics/gatewayMetrics.js'
import { ModelAliases } from './models/aliases.js'
import { BackendHealth } from './proxy/backendHealth.js'
import { backendView, createBackends, type Backend, type BackendContext } from './proxy/backends.js'
import { pickBackend } from './proxy/pickBackend.js'
import type { Exchange, ExchangeEnd } from './proxy/exchange.js'
import { markServer, rotateBackup } from './store/backup.js'
import { openStore, type Store } from './store/store.js'
import { AuditLog, pruneAudit } from './events/auditLog.js'
import { AuditQueue } from './events/auditQueue.js'
import { localActor } from './events/localActor.js'
import { Accounting } from './usage/accounting.js'
import type { ResponseCache } from './cache/responseCache.js'
import { startEvents, type GatewayEvents } from './events/gatewayEvents.js'
import { requestFailures } from './events/requestFailures.js'
import { finishStage, type FinishConsumer } from './usage/finish.js'
import { PluginHost } from './plugins/loader.js'
import { pluginStages } from './plugins/stages.js'
import { requestLogger } from './requestLog.js'
import { Scheduler } from './scheduler/scheduler.js'
import { schedulerSettings } from './scheduler/schedulerConfig.js'
import { moveSlot, scheduleStage, waitSlot } from './scheduler/scheduleStage.js'
import { startResponseCache } from './cache/cacheSetup.js'

/** The request path's stage implementations, as built from config; GatewayOptions.stages may replace any. */
export interface StageSet extends RequestStages {
  /** Plugins' onResponseChunk slot (response taps). */
  responseChunk?: (state: RequestState, chunk: Buffer) => void
  /** Plugins' slot at the response head (the headers they add). */
  responseHead?: (state: RequestState, status: number, contentType: string) => readonly string[] | undefined
  /**
   * finish's consumers of the result, run in this order (one more consumer is one more field here and in the list
   * below): the usage row, the embedder's hook, metrics, the log line; `events` (request.failed) and `plugins`
   * (onEnd) are slots.
   */
  finish: {
    usage?: ExchangeEnd
    hook?: ExchangeEnd
    metrics?: ExchangeEnd
    log?: ExchangeEnd
    events?: ExchangeEnd
    plugins?: FinishConsumer
    /** The response cache's store of a completed miss (src/cache/cacheStage.ts storeReply). */
    cache?: FinishConsumer
  }
}

export interface GatewayOptions {
  logger: Logger
  /** Called once per proxied request when it ends (after its usage row is recorded). */
  onRequestEnd?: ExchangeEnd
  /**
   * Composes the request path from other stage implementations: given those built from config, returns the ones to
   * run (the bench's variants leave parts out so; a test wraps each to walk their order). Default: as built.
   */
  stages?: (built: StageSet) => StageSet
  /** Called with each shutdown step's name as it runs. */
  onShutdownStep?: (name: string) => void
  /** The clock the response cache's entries expire by (ms since epoch; default Date.now): tests move time. */
  cacheClock?: () => number
}

export interface Gateway {
  /** The port actually listened on (config may say 0 for any free port). */
  port: number
  backends: Backend[]
  store: Store
  authenticator: Authenticator
  accounting: Accounting
  /** The response cache (undefined unless cache.enabled). */
  cache: ResponseCache | undefined
  /** The plugin chain; `plugins.reloaded` settles when a reload's chain is in place (or refused). */
  plugins: PluginHost
  /** Requests being proxied now. */
  readonly inFlight: number
  /**
   * Applies a new config without dropping a connection: backends, timeouts, request limits, log level, aliases and
   * prices. Returns the changed keys that need a restart (marked `restart` in the config schema).
   */
  reload(config: Config): string[]
  /** The audit log (a refused reload is recorded by whoever read the file). */
  audit: AuditLog
  /**
   * Stops: no new connections or requests, requests in flight may finish within `drainMs` (default
   * server.drain_timeout) and are ended after it, usage is flushed, the database closed.
   */
  close(drainMs?: number): Promise<void>
}

export { ListenError } from './http/listener.js'

export async function startGateway(config: Config, options: GatewayOptions): Promise<Gateway> {
  const { logger } = options
  // Loaded first, so that a plugin that cannot load stops start-up before anything is opened.
  const plugins = await PluginHost.start(config.plugins, logger)
  const { uws, native } = loadUws({
    maxHeaderBytes: config.server.max_header_bytes,
    allowFallback: config.server.allow_js_fallback,
    warn: (message) => logger.warn(message),
  })
  const inFlight = new Set<Exchange<RequestState>>()
  const waiting = new Set<{ shutdown(): void }>()
  const live = { current: config }
  // Shared by the backends a reload makes: the ejection settings as they are now, and (once it runs) the event bus.
  const backendContext: BackendContext = { upstream: () => live.current.upstream }
  const running: Running = {
    logger,
    config: live,
    backends: createBackends(config, backendContext),
    backendContext,
    aliases: new ModelAliases(config.models.aliases),
    inFlight,
    waiting,
    reprice: () => {},
    plugins,
  }
  const lifecycle = new Lifecycle(running, options.onShutdownStep)
  const store = openStore(config.database, { migrate: config.database.migrate_on_start })
  running.store = store
  // The event bus and webhook outbox, passed explicitly to the rooms that report events.
  const events = startEvents(config, store, logger)
  running.events = events
  // Sign-ins (SSO too), changes and sensitive reads are recorded in the audit log (src/events/auditLog.ts); rows that
  // stand alone never wait for the write lock on the event loop (auditQueue.ts).
  const auditLog = new AuditLog(store.db)
  const audit = new AuditQueue(store.db, auditLog, logger)
  running.audit = audit
  let identity: Identity
  try {
    identity = createIdentity(config, store, logger, events.emit, audit)
  } catch (error) {
    await lifecycle.close(0)
    throw error
  }
  const { authenticator, sessions, sso } = identity
  authenticator.changeListeners.push(() => events.onChanges())
  authenticator.start()
  running.authenticator = authenticator
  const accounting = new Accounting(store.db, config.database, config.usage, logger)
  accounting.alsoPrune((now) => pruneAudit(auditLog, running.config.current.audit.retention, now, logger))
  accounting.start()
  running.accounting = accounting
  running.reprice = (usage) => accounting.reprice(usage)
  const limiter = createLimiter(store, accounting, authenticator, events)
  const metrics = config.metrics.enabled
    ? new GatewayMetrics(
        {
          backends: () => running.backends,
          inFlight: () => {
            let streams = 0
            for (const exchange of inFlight) if (exchange.streaming) streams++
            return { requests: inFlight.size, streams }
          },
          usageQueue: () => ({
            ...accounting.recorder.stats,
            queued: accounting.recorder.queued,
            pending: accounting.recorder.pending,
          }),
          keyCache: () => authenticator.keys.stats,
          alerts: () => events.quotaAlerts.stats,
          webhooks: () => events.stats(),
          plugins: () => plugins.stats,
        },
        config.metrics.key_labels,
      )
    : undefined
  running.metrics = metrics
  backendContext.emit = events.emit
  const scheduler = new Scheduler<Backend>({
    ...schedulerSettings(config),
    view: backendView(() => running.backends),
    backends: running.backends,
    now: () => performance.now(),
    onWaited: metrics && ((ms) => metrics.observeQueueWait(ms / 1000)),
  })
  metrics?.registerQueueDepth(() => scheduler.depthByModel())
  running.scheduler = {
    reload: (next) => {
      scheduler.configure(schedulerSettings(next))
      // A backend kept by name and URL is the same Ollama: its running requests still hold its slots.
      scheduler.setBackends(running.backends, (old) =>
        running.backends.find((backend) => backend.name === old.name && backend.url === old.url),
      )
    },
  }
  const health = new BackendHealth(() => running.backends, config.metrics.backend_check_interval)
  // A backend back in service, or a new inventory: requests waiting for it go now.
  health.afterCheck = () => scheduler.wake()
  health.start()
  running.health = health
  const roleWeights = () => running.config.current.scheduler.weights
  // The response cache (cache.enabled): its stage, its finish consumer, purges from the CLI, the persistent sweep.
  const cache = startResponseCache(config.cache, {
    store,
    config: () => running.config.current.cache,
    backends: () => running.backends,
    authenticator,
    logger,
    now: options.cacheClock,
  })
  running.cache = cache
  metrics?.registerCache(cache && (() => cache.cache.stats()))

  // The plugins' slots read the chain the host holds now: a reload may add the first plugin, or take the last away.
  const pluginSlots = pluginStages(plugins)
  // The network policy (issue 15): the gateway's allow-list and the trusted proxies, parsed again only when a reload
  // changes them; signed requests' verifier with its one replay cache.
  const gatewayAllowList = liveAddressList(() => running.config.current.server.allow_ip)
  const trustedProxies = liveTrustedProxies(() => ({
    ranges: running.config.current.server.trusted_proxies,
    header: running.config.current.server.forwarded_header,
  }))
  const signatures = new SignatureVerifier(
    () => running.config.current.auth.signature_skew,
    config.auth.signature_replay_cache,
  )
  const built: StageSet = {
    addressGuard: allowListGuard(gatewayAllowList, (address, api) => limiter.limiter.admitAddress(address, api)),
    authenticate: authenticateStage((credential) => authenticator.authenticate(credential)),
    readFields: readFieldsWith,
    authorize: authorizeModels,
    limits: (principal, api, model, estimate, quotas) => limiter.limiter.admit(principal, api, model, estimate, quotas),
    plugins: pluginSlots.request,
    cache: cache?.stage,
    schedule: scheduleStage(scheduler, roleWeights),
    moveSlot: (state, tried) => moveSlot(scheduler, roleWeights, state, tried),
    waitSlot: (state, tried, go) => waitSlot(scheduler, roleWeights, state, tried, go),
    route: (skip, model) => pickBackend(running.backends, model ?? null, skip, Date.now()),
    responseHead: pluginSlots.head,
    responseChunk: pluginSlots.chunk,
    finish: {
      usage: accounting.record,
      hook: options.onRequestEnd,
      metrics: metrics && ((result) => metrics.observe(result)),
      log: requestLogger(logger, running.config),
      events: requestFailures({
        emit: events.emit,
        intervalMs: () => running.config.current.webhooks.request_failed_interval,
      }),
      plugins: pluginSlots.end,
      cache: cache?.store,
    },
  }
  const stages = options.stages ? options.stages(built) : built
  const proxy: ProxyStages = {
    config: running.config,
    trustedProxies,
    signatures,
    lifecycle,
    logger,
    addressGuard: stages.addressGuard,
    authenticate: stages.authenticate,
    readFields: stages.readFields,
    authorize: stages.authorize,
    limits: stages.limits,
    plugins: stages.plugins,
    cache: stages.cache,
    schedule: stages.schedule,
    moveSlot: stages.moveSlot,
    waitSlot: stages.waitSlot,
    route: stages.route,
    waiting,
    forward: {
      config: running.config,
      inFlight,
      usageHeaders: accounting.usageHeaders,
      onResponseChunk: stages.responseChunk,
      onResponseHead: stages.responseHead,
    },
    finish: finishStage(
      [
        stages.finish.usage,
        stages.finish.hook,
        stages.finish.metrics,
        stages.finish.log,
        stages.finish.events,
        stages.finish.plugins,
        stages.finish.cache,
      ],
      (error, result) =>
        logger.error('a request end consumer failed', {
          request_id: result.requestId,
          route: result.route,
          err: error,
        }),
    ),
  }

  // The Batch API: its lines run in-process through the proxied routes' own stages (src/api/batchLines.ts).
  const batchApi = startBatches(config, store.db, logger, {
    // Lines take only the slots interactive requests leave idle (src/scheduler/idleSlotStage.ts).
    runLine: batchLineRunner(
      proxy,
      running.aliases,
      proxy.schedule &&
        idleSlotStage(scheduler, roleWeights, () => running.config.current.batch.interactive_reserve_window),
    ),
    owner: (userId, keyId) => authenticator.principalOf(userId, keyId),
    settings: () => running.config.current.batch,
  })
  running.batches = batchApi
  metrics?.registerBatches(batchApi.runner)
  // The gateway's own routes pass the same address guard and limits as the proxied ones.
  const limits = { admit: stages.limits, admitAddress: stages.addressGuard }
  const network = { trustedProxies, signatures }
  const authenticate = (credential: string | undefined) => authenticator.authenticate(credential)
  const dashboard = loadStaticFiles(dashboardDir())
  if (dashboard.size === 0) logger.warn('the dashboard is not built: /ui/ answers 404', { dir: dashboardDir() })
  // Every route, on each app the listener makes (one; with TLS, one more per certificate reload).
  const mount = (app: TemplatedApp): void => {
    mountAuthRoutes(app, { authenticate, logger, audit, limits, ...network, sessions, store, sso })
    mountAdminRoutes(app, {
      authenticate,
      logger,
      audit,
      limits,
      ...network,
      store,
      config: () => running.config.current,
      responseCache: cache?.cache,
      cachePersists: config.cache.persist,
      usage: accounting.store,
      flushUsage: () => accounting.recorder.settled(),
      queue: (onlyUser) => scheduler.snapshot(onlyUser),
      backendAdmin: {
        backends: () => running.backends,
        health,
        waitingFor: (backend) => scheduler.waitingFor(backend),
        wake: () => scheduler.wake(),
        emit: events.emit,
      },
      modelAdmin: {
        backends: () => running.backends,
        health,
        timeouts: () => running.config.current.timeouts,
        emit: events.emit,
      },
      backends: () =>
        health.ensureChecked().then(() =>
          running.backends.map((backend) => ({
            name: backend.name,
            state: backendState(backend, health.isUp(backend)),
          })),
        ),
    })
    mountSystemRoutes(app, {
      authenticate,
      logger,
      audit,
      limits,
      ...network,
      config: () => running.config.current,
      db: store.db,
      backends: () => running.backends,
      health,
      metrics,
      aliases: running.aliases,
    })
    mountDashboard(app, dashboard, { admitAddress: stages.addressGuard, api: 'ui', trusted: trustedProxies })
    mountLocalRoutes(app, 'openai', { authenticate, logger, audit, limits, ...network }, batchApi.handlers)
    mountRoutes(app, proxy, running.aliases)
  }
  let listener: Listener
  try {
    listener = await Listener.start(config.server, { uws, native, logger, mount })
  } catch (error) {
    await lifecycle.close(0)
    throw error
  }
  running.stopListening = () => listener.stopListening()
  running.closeApp = () => listener.close()
  running.listener = listener
  const actualPort = listener.port
  logger.info('listening', {
    host: config.server.host,
    port: actualPort,
    native,
    tls: listener.secure,
    backends: running.backends.map((backend) => backend.url),
  })
  running.unmark = markServer(config.database.path)
  running.backups = scheduleBackups(config.database, logger)
  return {
    port: actualPort,
    get backends() {
      return running.backends
    },
    store,
    authenticator,
    accounting,
    cache: cache?.cache,
    plugins,
    get inFlight() {
      return inFlight.size
    },
    audit: auditLog,
    reload: (next) => {
      const restart = lifecycle.reload(next)
      try {
        audit.record({
          action: 'config.reload',
          actor: localActor('system'),
          target: 'config',
          after: { restart_needed: restart },
          result: 'ok',
          requestId: null,
        })
      } catch (error) {
        // Applied already: a reload is not undone because its audit row could not be written (the log says so).
        logger.error('could not record the config reload in the audit log', { err: error })
      }
      return restart
    },
    close: (drainMs) => lifecycle.close(drainMs),
  }
}

/** The callers' limits, their quotas read from the usage rollups (thresholds become events); rebuilt on rule changes. */
function createLimiter(
  store: Store,
  accounting: Accounting,
  authenticator: Authenticator,
  events: GatewayEvents,
): { limiter: Limiter } {
  const limiter = new Limiter(
    new RuleSet(store.limits.all()),
    (limit, principal, since, counts) => {
      const owner = limit.rule.subjectType === 'key' ? { keyId: principal.keyId! } : { userId: principal.userId }
      const api = limit.rule.gateway === '*' ? undefined : limit.rule.gateway
      return accounting.store.usedSince(since, owner, api, limit.rule.model || undefined, counts)
    },
    Date.now,
    events.quotaAlerts,
  )
  authenticator.changeListeners.push((changes) => {
    if (changes.some((change) => change.kind === 'limits_changed'))
      limiter.replaceRules(new RuleSet(store.limits.all()))
  })
  return { limiter }
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
