// The gateway with some of its request path left out, for `npm run bench` to measure what each part costs:
// `node dist/bench/gatewayParts.js proxy|auth` (config as `parallama serve` reads it). Not part of the product.
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { startGateway } from '../src/server.js'

const parts = process.argv[2]
if (parts !== 'proxy' && parts !== 'auth') {
  process.stderr.write('usage: gatewayParts.js proxy|auth\n')
  process.exit(2)
}
const { config } = loadConfig({ path: process.argv[3] })
const gateway = await startGateway(config, { logger: createLogger(config.log.level), parts })
process.once('SIGTERM', () => {
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
