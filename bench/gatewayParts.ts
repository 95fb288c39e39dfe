// The gateway with some of its request path left out, for `npm run bench` to measure what each part costs:
// `node dist/bench/gatewayParts.js proxy|auth` (config as `parallama serve` reads it). Not part of the product: the
// variants are composed from the same stages as the gateway, with some replaced — `proxy`: every route public, no
// address guard or limits, no usage rows; `auth`: credentials checked, no address guard or limits, no usage rows.
import type { Admission } from '../src/limits/limiter.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/logger.js'
import { startGateway, type StageSet } from '../src/server.js'

const parts = process.argv[2]
if (parts !== 'proxy' && parts !== 'auth') {
  process.stderr.write('usage: gatewayParts.js proxy|auth\n')
  process.exit(2)
}

const unlimited: Admission = { headers: [], release: () => {} }

/** The stages of a variant: no address guard, no limits, no usage row; and for `proxy`, no credentials either. */
function variant(built: StageSet): StageSet {
  return {
    ...built,
    addressGuard: () => undefined,
    limits: () => unlimited,
    authenticate: parts === 'proxy' ? () => undefined : built.authenticate,
    finish: { ...built.finish, usage: undefined },
  }
}

const { config } = loadConfig({ path: process.argv[3] })
const gateway = await startGateway(config, { logger: createLogger(config.log.level), stages: variant })
process.once('SIGTERM', () => {
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
