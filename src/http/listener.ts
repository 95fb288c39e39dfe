// Where the gateway listens: one uWS app (plain, or SSLApp with server.tls) with every route mounted, on an exclusive
// port. A reload with TLS on re-reads the certificate and key: a new SSLApp takes the listening port over, and the
// apps before it keep serving the connections they hold until shutdown (this uWS build cannot swap a listening
// app's certificate: addServerName only serves clients that send SNI, and an address such as 127.0.0.1 sends none).
import { type TemplatedApp, type UwsModule, type us_listen_socket } from '../../native/uws.js'
import type { Config } from '../config/schema.js'
import type { Logger } from '../logger.js'
import { setStrictTransport } from './status.js'
import { hstsValue, sslAppOptions, tlsEnabled, tlsFingerprint, TlsError } from './tls.js'

export class ListenError extends Error {
  readonly code = 'listen_failed'
}

/** The binding takes (host, port, options, callback); its published types omit that form. */
interface ExclusiveListen {
  listen(host: string, port: number, options: number, callback: (socket: us_listen_socket | false) => void): void
}

export interface ListenerDeps {
  uws: UwsModule
  /** False on the pure-JS fallback: it listens with node:net, has no exclusive option and no TLS. */
  native: boolean
  logger: Logger
  /** Mounts every route on an app (called again for each app a TLS reload makes). */
  mount(app: TemplatedApp): void
}

export class Listener {
  /** The port actually listened on (config may say 0 for any free port). */
  port = 0
  private readonly apps: TemplatedApp[] = []
  private socket: us_listen_socket | undefined
  private tls: boolean
  /** What the running app was made from (files' contents and settings): a reload with the same keeps it. */
  private fingerprint: string | undefined
  private stopped = false

  private constructor(
    private readonly deps: ListenerDeps,
    private readonly host: string,
    server: Config['server'],
  ) {
    this.tls = tlsEnabled(server.tls)
  }

  /** Builds the first app and listens; throws TlsError or ListenError with what was wrong. */
  static async start(server: Config['server'], deps: ListenerDeps): Promise<Listener> {
    const listener = new Listener(deps, server.host, server)
    if (listener.tls && !deps.native) throw new TlsError('server.tls needs the native uWebSockets binding')
    const app = listener.makeApp(server)
    const socket = await listener.listenOn(app, await listener.concretePort(app, server.port))
    if (!socket) {
      closeApp(app)
      throw new ListenError(
        `cannot listen on ${server.host}:${server.port} (address in use, not local, or not permitted)`,
      )
    }
    listener.take(app, socket, server)
    return listener
  }

  get secure(): boolean {
    return this.tls
  }

  /**
   * Applies server.tls from a reloaded config: with TLS on, the files are read again and a new app listens in place
   * of the old one (same host and port: those need a restart). A certificate that does not load keeps the running
   * one. Plain HTTP to plain HTTP changes nothing; turning TLS on or off is applied the same way.
   */
  reload(server: Config['server']): void {
    const next = tlsEnabled(server.tls)
    // Shutting down (no longer listening): a reload must not open the port again.
    if (this.stopped || (!this.tls && !next)) return
    // A reload for another reason, with the same files and settings, keeps the app (each replaced one stays until
    // shutdown with the connections it holds).
    if (next && this.tls && tlsFingerprint(server.tls) === this.fingerprint) {
      setStrictTransport(hstsValue(server.tls))
      return
    }
    let app: TemplatedApp
    try {
      app = this.makeApp(server)
    } catch (error) {
      this.deps.logger.error('TLS reload refused; the running certificate stays', { err: error })
      return
    }
    // Synchronous on the native binding: connections arriving between the close and the listen (microseconds) are
    // refused by the kernel, those already accepted stay on the old app.
    this.closeListenSocket()
    let socket: us_listen_socket | false = false
    ;(app as unknown as ExclusiveListen).listen(this.host, this.port, this.exclusive(), (s) => (socket = s))
    if (!socket) {
      closeApp(app)
      this.deps.logger.error('cannot listen again after a TLS reload; listening with the running app', {
        port: this.port,
      })
      ;(this.apps.at(-1) as unknown as ExclusiveListen).listen(this.host, this.port, this.exclusive(), (s) => {
        if (s) this.socket = s
        else this.deps.logger.error('the gateway is not listening any more: restart it', { port: this.port })
      })
      return
    }
    this.take(app, socket, server)
    this.deps.logger.info('TLS certificate reloaded', { cert: server.tls.cert_file, tls: next })
  }

  /** Stops accepting connections for good (shutdown); those open stay. */
  stopListening(): void {
    this.stopped = true
    this.closeListenSocket()
  }

  private closeListenSocket(): void {
    if (this.socket !== undefined) this.deps.uws.us_listen_socket_close(this.socket)
    this.socket = undefined
  }

  /** Closes every app, and with it every connection still open. */
  close(): void {
    for (const app of this.apps) closeApp(app)
    this.apps.length = 0
  }

  private makeApp(server: Config['server']): TemplatedApp {
    const { uws } = this.deps
    let app: TemplatedApp
    if (tlsEnabled(server.tls)) {
      const options = sslAppOptions(server.tls)
      try {
        app = uws.SSLApp(options)
      } catch (error) {
        throw new TlsError(`the TLS library refused server.tls (${(error as Error).message})`)
      }
    } else app = uws.App()
    this.deps.mount(app)
    return app
  }

  private take(app: TemplatedApp, socket: us_listen_socket, server: Config['server']): void {
    this.apps.push(app)
    this.socket = socket
    this.port = this.deps.uws.us_socket_local_port(socket)
    this.tls = tlsEnabled(server.tls)
    this.fingerprint = this.tls ? tlsFingerprint(server.tls) : undefined
    setStrictTransport(hstsValue(server.tls))
  }

  /** Exclusive: by default uSockets sets SO_REUSEPORT, and a second gateway on the same port would split traffic. */
  private exclusive(): number {
    return (this.deps.uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT
  }

  /**
   * Port 0 (any free port) is resolved first by listening once and closing: uSockets sets SO_REUSEADDR only when it is
   * given a port, and without it on the accepted connections a TLS reload could not listen on the port again while
   * they are open (EADDRINUSE).
   */
  private async concretePort(app: TemplatedApp, port: number): Promise<number> {
    if (port !== 0 || !this.deps.native) return port
    const probe = await this.listenOn(app, 0)
    if (!probe) return port
    const chosen = this.deps.uws.us_socket_local_port(probe)
    this.deps.uws.us_listen_socket_close(probe)
    return chosen
  }

  private listenOn(app: TemplatedApp, port: number): Promise<us_listen_socket | false> {
    return new Promise((resolve) => {
      if (this.deps.native) (app as unknown as ExclusiveListen).listen(this.host, port, this.exclusive(), resolve)
      else app.listen(this.host, port, resolve)
    })
  }
}

/** Closes an app and its connections (the binding has close(); its published types omit it). */
function closeApp(app: TemplatedApp): void {
  ;(app as unknown as { close(): void }).close()
}
