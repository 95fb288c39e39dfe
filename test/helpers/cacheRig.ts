// A gateway with the response cache on, in front of a fresh emulator whose model inventory the gateway already knows
// (as after its first health check: the cache keys by the models' digests), and small helpers to ask it.
import type { Test } from 'tap'
import { request } from 'undici'
import type { ExchangeResult } from '../../src/proxy/exchange.js'
import { startRig, type Rig } from './gateway.js'

export const chatModel = 'llama3.2:3b'

/** Reads every backend's /api/tags into its inventory now (what the health checks do on their interval). */
export async function learnInventory(rig: Rig): Promise<void> {
  for (const backend of rig.gateway.backends) {
    const tags = await fetch(`${backend.url}/api/tags`)
    backend.inventory.updateInstalled(await tags.json())
  }
}

export async function startCacheRig(
  t: Test,
  cache: Record<string, unknown> = {},
  settings: Record<string, any> = {},
  /** The clock entries expire by (default Date.now). */
  clock?: () => number,
): Promise<Rig> {
  const rig = await startRig(t, { ...settings, cache: { enabled: true, ...cache } }, {}, {}, { cacheClock: clock })
  await learnInventory(rig)
  return rig
}

export interface Asked {
  status: number
  cache: string | undefined
  headers: Record<string, string | string[] | undefined>
  text: string
  result: ExchangeResult
}

/** POSTs a body and waits for the request's result (its usage row's source). */
export async function ask(
  rig: Rig,
  path: string,
  body: unknown,
  headers: Record<string, string> = rig.headers,
): Promise<Asked> {
  const response = await request(`${rig.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.body.text()
  const id = response.headers['x-request-id'] as string
  let result = rig.ended.find((ended) => ended.requestId === id)
  while (!result) {
    await rig.nextEnd()
    result = rig.ended.find((ended) => ended.requestId === id)
  }
  const cache = response.headers['x-parallama-cache']
  return { status: response.statusCode, cache: cache as string | undefined, headers: response.headers, text, result }
}
