// Builds the gateway from a config: loads uWS, opens the backend pools, mounts the routes, listens; and closes it all.
import { loadUws, type us_listen_socket } from '../native/uws.js'
import { mountRoutes } from './api/routes.js'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import { closeBackends, createBackends, pickBackend, type Backend } from './proxy/backends.js'
import type { ExchangeEnd } from './proxy/exchange.js'
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
  close(): Promise<void>
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
  const limiter = new Limiter(new RuleSet(store.limits.all()), (limit, principal, since, counts) => {
    const owner = limit.rule.subjectType === 'key' ? { keyId: principal.keyId! } : { userId: principal.userId }
    const api = limit.rule.gateway === '*' ? undefined : limit.rule.gateway
    return accounting.store.usedSince(since, owner, api, limit.rule.model || undefined, counts)
  })
  authenticator.changeListeners.push((changes) => {
    if (changes.some((change) => change.kind === 'limits_changed'))
      limiter.replaceRules(new RuleSet(store.limits.all()))
  })
  const backends = createBackends(config)
  const app = uws.App()
  mountAuthRoutes(app, { authenticate, logger, sessions, store })
  mountAdminRoutes(app, {
    authenticate,
    logger,
    store,
    usage: accounting.store,
    flushUsage: () => accounting.recorder.drain(),
  })
  mountRoutes(app, {
    config,
    authenticate,
    backends,
    pick: (skip) => pickBackend(backends, skip),
    onEnd,
    usageHeaders: accounting.usageHeaders,
    aliases: new ModelAliases(config.models.aliases),
    open: parts === 'proxy',
    admit:
      parts === 'all'
        ? (principal, api, model, tokenEstimate) => limiter.admit(principal, api, model, tokenEstimate)
        : () => unlimited,
    admitAddress: parts === 'all' ? (address, api) => limiter.admitAddress(address, api) : () => undefined,
  })
  const { host, port } = config.server
  // Exclusive: by default uSockets sets SO_REUSEPORT, and a second gateway on the same port would silently split
  // traffic. (The JS fallback listens with node:net, which never shares, and has no options argument.)
  const listenSocket = await new Promise<us_listen_socket | false>((resolve) => {
    if (native) (app as unknown as ExclusiveListen).listen(host, port, exclusivePort(uws), resolve)
    else app.listen(host, port, resolve)
  })
  if (!listenSocket) {
    await accounting.close()
    authenticator.stop()
    store.close()
    await closeBackends(backends)
    throw new ListenError(`cannot listen on ${host}:${port} (address in use, not local, or not permitted)`)
  }
  const actualPort = uws.us_socket_local_port(listenSocket)
  logger.info('listening', { host, port: actualPort, native, backends: backends.map((backend) => backend.url) })
  let closed = false
  return {
    port: actualPort,
    backends,
    store,
    authenticator,
    accounting,
    async close() {
      if (closed) return
      closed = true
      uws.us_listen_socket_close(listenSocket)
      ;(app as unknown as { close(): void }).close()
      await closeBackends(backends)
      await accounting.close()
      authenticator.stop()
      store.close()
    },
  }
}
