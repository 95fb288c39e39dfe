// `parallama serve`: runs the gateway in the foreground (what systemd starts). SIGTERM/SIGINT: a graceful stop
// (requests in flight may finish within server.drain_timeout), exit 0. SIGHUP: reload the config file; what cannot
// change while running is reported, and a config with problems is refused (the running one stays).
import type { CommandModule } from 'yargs'
import { loadConfig } from '../src/config/load.js'
import { ConfigError } from '../src/config/validate.js'
import { createLogger, flushStdout, type Logger } from '../src/logger.js'
import { startGateway, type Gateway } from '../src/server.js'
import { compileRouteChecks } from '../src/validation/validator.js'
import { localActor } from '../src/events/localActor.js'
import { configOption, loadConfigOrExit } from './options.js'

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: 'run the gateway in the foreground',
  builder: (yargs) =>
    yargs.options({
      ...configOption,
      'allow-ip': {
        type: 'string',
        describe: 'client address ranges that may use the gateway (server.allow_ip), comma-separated',
      },
    }),
  handler: async (argv) => {
    const path = argv.config as string | undefined
    // As its environment variable: it overrides the file, and a reload (which reads the environment again) keeps it.
    if (typeof argv.allowIp === 'string') process.env.PARALLAMA_SERVER__ALLOW_IP = argv.allowIp
    const { config, source } = loadConfigOrExit(path)
    const logger = createLogger(config.log.level)
    logger.info('starting', { config: source, pid: process.pid, node: process.version })
    // Before the port opens: compiled on first use instead, the first body on each route would wait for it.
    compileRouteChecks(config.validation)
    let gateway: Gateway
    try {
      gateway = await startGateway(config, { logger })
    } catch (error) {
      logger.error('cannot start', { err: error })
      flushStdout()
      process.exit(1)
    }
    const stop = (signal: string): void => {
      logger.info('stopping', { signal, requests: gateway.inFlight })
      gateway.close().then(
        () => {
          logger.info('stopped')
          flushStdout()
          process.exit(0)
        },
        (error: unknown) => {
          logger.error('error while stopping', { err: error })
          flushStdout()
          process.exit(1)
        },
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => reload(gateway, path ?? source, logger))
  },
}

function reload(gateway: Gateway, path: string, logger: Logger): void {
  let next
  try {
    next = loadConfig({ path: path === '(built-in defaults)' ? undefined : path }).config
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    logger.error('config reload refused; the running config stays', { config: path, problems: error.message })
    recordRefusedReload(gateway, logger)
    return
  }
  const restart = gateway.reload(next)
  logger.info('config reloaded', { config: path })
  if (restart.length > 0) logger.warn('changed settings that apply only after a restart', { keys: restart })
}

function recordRefusedReload(gateway: Gateway, logger: Logger): void {
  try {
    gateway.audit.record({
      action: 'config.reload',
      actor: localActor('system'),
      target: 'config',
      result: 'failed',
      error: 'config_invalid',
      requestId: null,
    })
  } catch (error) {
    logger.error('could not record the refused reload in the audit log', { err: error })
  }
}
