// The bare stack the gateway is built on, as a bench target: uWS in front, an undici pool behind, every request
// passed through with no credential, limit, usage row, metric or log line (`npm run bench -- --bare`). What the
// gateway costs on top of it is what its features cost. Bench only: no backpressure handling beyond what small
// replies and token streams need, no error pages.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool, request } from 'undici'
import { loadUws } from '../native/uws.js'
import { freePort, type Started } from './processes.js'

/** Headers that describe one hop's connection: never passed on. */
const hopHeaders = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

function serve(port: number, upstream: string): void {
  const { uws } = loadUws({ maxHeaderBytes: 16 * 1024, allowFallback: false, warn: () => {} })
  const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 4000 })
  const app = uws.App()
  app.any('/*', (res, req) => {
    const method = req.getMethod().toUpperCase()
    const query = req.getQuery()
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl()
    const headers: Record<string, string> = {}
    req.forEach((name, value) => {
      if (!hopHeaders.has(name)) headers[name] = value
    })
    let gone = false
    res.onAborted(() => (gone = true))
    const forward = async (body: Buffer | undefined) => {
      const reply = await pool.request({ method: method, path, headers, body })
      res.cork(() => {
        if (gone) return
        res.writeStatus(String(reply.statusCode))
        for (const [name, value] of Object.entries(reply.headers)) {
          if (!hopHeaders.has(name) && typeof value === 'string') res.writeHeader(name, value)
        }
      })
      for await (const chunk of reply.body as AsyncIterable<Buffer>) {
        if (gone) continue
        res.cork(() => res.write(chunk))
      }
      if (!gone) res.cork(() => res.end())
    }
    const fail = () => {
      if (!gone) res.cork(() => res.writeStatus('502').end())
    }
    if (method === 'GET' || method === 'HEAD') {
      forward(undefined).catch(fail)
      return
    }
    const chunks: Buffer[] = []
    res.onData((chunk, last) => {
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)))
      if (last) forward(Buffer.concat(chunks)).catch(fail)
    })
  })
  app.listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1)
  })
}

/** Starts the bare proxy in its own process, like the other targets. */
export async function startBareProxy(upstream: string): Promise<Started> {
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/bench/bareProxy.js', String(port), upstream], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  for (let waited = 0; ; waited += 50) {
    try {
      await (await request(`${url}/`)).body.dump()
      break
    } catch (error) {
      if (waited > 10_000) throw error
      await sleep(50)
    }
  }
  return {
    name: 'bare',
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM')
      await sleep(100)
    },
  }
}

if (process.argv[1]?.endsWith('bareProxy.js') && process.argv.length >= 4) {
  serve(Number(process.argv[2]), process.argv[3]!)
}
