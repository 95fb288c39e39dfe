// Options shared by the commands that read the configuration.
import { loadConfig, type LoadedConfig } from '../src/config/load.js'
import { ConfigError } from '../src/config/validate.js'

export const configOption = {
  config: {
    type: 'string',
    describe: 'config file (default: /etc/parallama/parallama.yaml, else ./conf/parallama.yaml)',
  },
} as const

/** Loads the config or prints why not and exits 1. */
export function loadConfigOrExit(path: string | undefined): LoadedConfig {
  try {
    return loadConfig({ path })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`parallama: ${error.message}\n`)
    process.exit(1)
  }
}
