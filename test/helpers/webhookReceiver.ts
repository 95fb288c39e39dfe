// A webhook receiver on loopback that checks every delivery as the Standard Webhooks spec tells a receiver to, with
// its own implementation (WebCrypto, not the gateway's signing code): the three headers, the whsec_ key decoded,
// HMAC-SHA256 over "id.timestamp.body", any of the space-separated v1 signatures matching in constant time.
import { timingSafeEqual, webcrypto } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'

export interface ReceivedDelivery {
  id: string
  timestamp: number
  body: string
  event: { id: string; type: string; timestamp: string; data: any }
  headers: IncomingHttpHeaders
  verified: boolean
}

/** The spec's verification, written from its text. */
export async function verifyDelivery(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string | Buffer,
): Promise<boolean> {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = headers['webhook-signature']
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false
  if (!/^\d+$/.test(timestamp)) return false
  const keyBytes = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const key = await webcrypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  // The raw bytes as received: a receiver must verify before it parses (parsing and re-serialising changes bytes).
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), Buffer.from(body)])
  const expected = Buffer.from(await webcrypto.subtle.sign('HMAC', key, signed))
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2)
    if (version !== 'v1' || value === undefined) return false
    const given = Buffer.from(value, 'base64')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

export interface Receiver {
  url: string
  received: ReceivedDelivery[]
  /** Answers the next `count` deliveries with `status` (then 204 again). */
  failNext(count: number, status?: number): void
  /** Holds the next delivery unanswered; resolves when it has arrived. */
  hangNext(): Promise<void>
  /** Resolves once `count` deliveries were received (whatever was answered). */
  waitFor(count: number): Promise<void>
  /** Every request seen, answered or failed. */
  attempts: number
  close(): Promise<void>
}

export async function startReceiver(secret: () => string): Promise<Receiver> {
  const received: ReceivedDelivery[] = []
  let failures = 0
  let hang: (() => void) | undefined
  let failStatus = 500
  let waiters: { count: number; resolve: () => void }[] = []
  const state = { attempts: 0 }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      state.attempts++
      if (hang) {
        hang()
        hang = undefined
        return
      }
      if (failures > 0) {
        failures--
        return void res.writeHead(failStatus).end()
      }
      const raw = Buffer.concat(chunks)
      const body = raw.toString('utf8')
      void verifyDelivery(secret(), req.headers, raw).then((verified) => {
        received.push({
          id: req.headers['webhook-id'] as string,
          timestamp: Number(req.headers['webhook-timestamp']),
          body,
          event: JSON.parse(body),
          headers: req.headers,
          verified,
        })
        res.writeHead(204).end()
        waiters = waiters.filter((waiter) => {
          if (received.length < waiter.count) return true
          waiter.resolve()
          return false
        })
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get attempts() {
      return state.attempts
    },
    hangNext: () => new Promise<void>((resolve) => (hang = resolve)),
    failNext(count, status = 500) {
      failures = count
      failStatus = status
    },
    waitFor: (count) =>
      received.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
