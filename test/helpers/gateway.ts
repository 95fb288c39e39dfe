// Starts the real gateway on a loopback port in front of a fresh emulator, with a real config; closes both after the test.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { generateKey } from '../../src/auth/apiKeyFormat.js'
import type { Role } from '../../src/auth/permissions.js'
import { startEmulator, type Emulator, type EmulatorOptions } from '../../bench/emulator/server.js'
import { configFrom } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { createLogger } from '../../src/logger.js'
import type { ExchangeResult } from '../../src/proxy/exchange.js'
import { startGateway, type Gateway, type GatewayOptions } from '../../src/server.js'

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
  /** An admin's API key, and the headers that present it. */
  key: string
  headers: Record<string, string>
  /** Creates a user with a key (and optional model allow-list); returns the Authorization headers for it. */
  addKey(options?: { role?: Role; models?: string[] | null; expiresAt?: number | null; username?: string }): {
    key: string
    id: string
    headers: Record<string, string>
  }
}

export async function startRig(
  t: Test,
  settings: Record<string, any> = {},
  emulatorOptions: EmulatorOptions = {},
  /** Environment overrides (secrets can only come from there). */
  env: Record<string, string> = {},
  /** More gateway options (other stage implementations, a shutdown step observer). */
  options: Omit<GatewayOptions, 'logger' | 'onRequestEnd'> = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-test-'))
  const emulator = await startEmulator(emulatorOptions)
  t.teardown(() => emulator.close())
  const config = configFrom(
    {
      ...settings,
      server: { host: '127.0.0.1', port: 0, ...settings.server },
      // As many slots as the emulator runs at once (set parallel to the backend's OLLAMA_NUM_PARALLEL): without
      // --parallel it runs everything, and tests that hold requests open side by side must not queue in the gateway.
      backends: settings.backends ?? [
        { url: emulator.url, name: 'emulator', parallel: emulatorOptions.scheduler?.parallel ?? 64 },
      ],
      log: { level: 'debug', ...settings.log },
      database: { path: join(dir, 'parallama.db'), ...settings.database },
      auth: { jwt_secret_file: join(dir, 'jwt.key'), ...settings.auth },
      // Tests count the requests the emulator sees: no health checks unless a test asks for them.
      metrics: { backend_check_interval: '1h', ...settings.metrics },
    },
    env,
  )

  const logs: string[] = []
  const ended: ExchangeResult[] = []
  let waiters: ((result: ExchangeResult) => void)[] = []
  const gateway = await startGateway(config, {
    ...options,
    logger: createLogger(config.log.level, (line) => logs.push(line)),
    onRequestEnd: (result) => {
      ended.push(result)
      const wake = waiters
      waiters = []
      for (const resolve of wake) resolve(result)
    },
  })
  t.teardown(() => gateway.close())
  let users = 0
  const addKey: Rig['addKey'] = (options = {}) => {
    const { store } = gateway
    const username = options.username ?? `user${++users}`
    const user = store.users.find(username) ?? store.users.add({ username, role: options.role ?? 'user' })
    const made = generateKey()
    store.keys.create({
      id: made.id,
      userId: user.id,
      hash: made.hash,
      prefix: made.prefix,
      models: options.models ?? null,
      expiresAt: options.expiresAt ?? null,
    })
    return { key: made.key, id: made.id, headers: { authorization: `Bearer ${made.key}` } }
  }
  const admin = addKey({ role: 'admin', username: 'admin' })
  return {
    key: admin.key,
    headers: admin.headers,
    addKey,
    emulator,
    gateway,
    config,
    url: `http://127.0.0.1:${gateway.port}`,
    ended,
    nextEnd: () => new Promise((resolve) => waiters.push(resolve)),
    logs,
  }
}
