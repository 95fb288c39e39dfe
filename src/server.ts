// Builds the gateway from a config: loads uWS, opens the backend pools, mounts the routes, listens; and closes it all.
import { loadUws, type us_listen_socket } from '../native/uws.js'
import { mountRoutes } from './api/routes.js'
import type { Config } from './config/schema.js'
import type { Logger } from './logger.js'
import { closeBackends, createBackends, pickBackend, type Backend } from './proxy/backends.js'
import type { ExchangeEnd } from './proxy/exchange.js'
import { Authenticator } from './auth/authenticator.js'
import { openStore, type Store } from './store/store.js'

export interface GatewayOptions {
  logger: Logger
  /** Called once per proxied request when it ends (usage accounting and metrics hook in here). */
  onRequestEnd?: ExchangeEnd
}

export interface Gateway {
  /** The port actually listened on (config may say 0 for any free port). */
  port: number
  backends: Backend[]
  store: Store
  authenticator: Authenticator
  close(): Promise<void>
}

/** The binding takes (host, port, options, callback); its published types omit that form. */
interface ExclusiveListen {
  listen(host: string, port: number, options: number, callback: (socket: us_listen_socket | false) => void): void
}

function exclusivePort(uws: object): number {
  return (uws as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT
}

function authOptions(config: Config) {
  const auth = config.auth
  return {
    cacheSize: auth.key_cache_size,
    cacheTtlMs: auth.key_cache_ttl,
    negativeCacheSize: auth.negative_cache_size,
    negativeCacheTtlMs: auth.negative_cache_ttl,
    changePollMs: auth.change_poll,
    lastUsedFlushMs: auth.last_used_flush,
  }
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
  const authenticator = new Authenticator(store, authOptions(config), logger)
  authenticator.start()
  const backends = createBackends(config)
  const app = uws.App()
  mountRoutes(app, {
    config,
    authenticate: (credential) => authenticator.authenticate(credential),
    backends,
    pick: (skip) => pickBackend(backends, skip),
    onEnd: options.onRequestEnd,
  })
  const { host, port } = config.server
  // Exclusive: by default uSockets sets SO_REUSEPORT, and a second gateway on the same port would silently split
  // traffic. (The JS fallback listens with node:net, which never shares, and has no options argument.)
  const listenSocket = await new Promise<us_listen_socket | false>((resolve) => {
    if (native) (app as unknown as ExclusiveListen).listen(host, port, exclusivePort(uws), resolve)
    else app.listen(host, port, resolve)
  })
  if (!listenSocket) {
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
    async close() {
      if (closed) return
      closed = true
      uws.us_listen_socket_close(listenSocket)
      ;(app as unknown as { close(): void }).close()
      await closeBackends(backends)
      authenticator.stop()
      store.close()
    },
  }
}
