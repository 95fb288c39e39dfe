// `parallama serve`: runs the gateway in the foreground (what systemd starts) until SIGINT or SIGTERM.
import type { CommandModule } from 'yargs'
import { createLogger } from '../src/logger.js'
import { startGateway } from '../src/server.js'
import { configOption, loadConfigOrExit } from './options.js'

export const serveCommand: CommandModule = {
  command: 'serve',
  describe: 'run the gateway in the foreground',
  builder: (yargs) => yargs.options(configOption),
  handler: async (argv) => {
    const { config, source } = loadConfigOrExit(argv.config as string | undefined)
    const logger = createLogger(config.log.level)
    logger.info('starting', { config: source, pid: process.pid, node: process.version })
    let gateway
    try {
      gateway = await startGateway(config, { logger })
    } catch (error) {
      logger.error('cannot start', { err: error })
      process.exit(1)
    }
    const stop = (signal: string): void => {
      logger.info('stopping', { signal })
      gateway.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('error while stopping', { err: error })
          process.exit(1)
        },
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  },
}
