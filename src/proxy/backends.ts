// The Ollama servers behind the gateway, each with a pool of keep-alive connections, and the choice of which one
// serves a request: the one with the fewest outstanding requests per unit of weight.
import { Pool } from 'undici'
import type { Config } from '../config/schema.js'

export interface Backend {
  name: string
  url: string
  weight: number
  pool: Pool
  /** Requests sent and not yet finished. */
  outstanding: number
  /** Date.now() until which the backend is passed over after refusing a connection. */
  downUntil: number
  /** Date.now() of the last health check it answered (0: none yet), and why the last one failed. */
  lastOkAt: number
  lastError: string | undefined
}

export function createBackends(config: Config): Backend[] {
  return config.backends.map((backend) => ({
    name: backend.name,
    url: backend.url,
    weight: backend.weight,
    outstanding: 0,
    downUntil: 0,
    lastOkAt: 0,
    lastError: undefined,
    pool: new Pool(backend.url, {
      connections: config.upstream.connections,
      keepAliveTimeout: config.upstream.keep_alive_timeout,
      keepAliveMaxTimeout: config.upstream.keep_alive_timeout,
      connect: { timeout: config.timeouts.connect },
      // Per-request timeouts are set on each dispatch; these are the pool's fallbacks.
      headersTimeout: config.timeouts.first_byte,
      bodyTimeout: config.timeouts.idle,
      pipelining: 1,
    }),
  }))
}

/** Excluding the backends in `skip`; a backend marked down is taken only when no other is left. */
export function pickBackend(backends: Backend[], skip?: Backend[]): Backend | undefined {
  if (backends.length === 1) return skip?.includes(backends[0]!) ? undefined : backends[0]
  const now = Date.now()
  let best: Backend | undefined
  let bestLoad = Infinity
  for (const backend of backends) {
    if (skip?.includes(backend)) continue
    const load = (backend.downUntil > now ? 1e9 : 0) + backend.outstanding / backend.weight
    if (load < bestLoad) {
      best = backend
      bestLoad = load
    }
  }
  return best
}

export async function closeBackends(backends: Backend[]): Promise<void> {
  await Promise.all(backends.map((backend) => backend.pool.close()))
}

/** How long a backend that refused a connection is passed over while others are up. */
const downForMs = 5000

export function markDown(backend: Backend): void {
  backend.downUntil = Date.now() + downForMs
}
