// Starts the real gateway on a loopback port in front of a fresh emulator, with a real config; closes both after the test.
import type { Test } from 'tap'
import { startEmulator, type Emulator, type EmulatorOptions } from '../../bench/emulator/server.js'
import { configFrom } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { createLogger } from '../../src/logger.js'
import type { ExchangeResult } from '../../src/proxy/exchange.js'
import { startGateway, type Gateway } from '../../src/server.js'

export interface Rig {
  emulator: Emulator
  gateway: Gateway
  config: Config
  /** Base URL of the gateway. */
  url: string
  /** Every finished exchange, in order (the request end hook). */
  ended: ExchangeResult[]
  /** Resolves with the next finished exchange. */
  nextEnd(): Promise<ExchangeResult>
  logs: string[]
}

export async function startRig(
  t: Test,
  settings: Record<string, any> = {},
  emulatorOptions: EmulatorOptions = {},
): Promise<Rig> {
  const emulator = await startEmulator(emulatorOptions)
  t.teardown(() => emulator.close())
  const config = configFrom({
    ...settings,
    server: { host: '127.0.0.1', port: 0, ...settings.server },
    backends: settings.backends ?? [{ url: emulator.url, name: 'emulator' }],
    log: { level: 'debug', ...settings.log },
  })
  const logs: string[] = []
  const ended: ExchangeResult[] = []
  let waiters: ((result: ExchangeResult) => void)[] = []
  const gateway = await startGateway(config, {
    logger: createLogger(config.log.level, (line) => logs.push(line)),
    onRequestEnd: (result) => {
      ended.push(result)
      const wake = waiters
      waiters = []
      for (const resolve of wake) resolve(result)
    },
  })
  t.teardown(() => gateway.close())
  return {
    emulator,
    gateway,
    config,
    url: `http://127.0.0.1:${gateway.port}`,
    ended,
    nextEnd: () => new Promise((resolve) => waiters.push(resolve)),
    logs,
  }
}
