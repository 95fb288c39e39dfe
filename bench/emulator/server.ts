// An Ollama emulator on node:http, faithful to shared/reference/ollama-api.md, for tests and benchmarks. Only Ollama is
// emulated in this project; everything else in a test is real.
import * as responses from './responses.js'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { admit, inferencePaths, sendBusy } from './admission.js'
import { defaultModels, normalizeName, type EmulatedModel } from './catalog.js'
import * as native from './native.js'
import * as modelCommands from './modelCommands.js'
import * as openai from './openai.js'
import { defaultKnobs, knobsFor, type Knobs } from './options.js'
import { OllamaScheduler, type ModelCounts, type SchedulerClock, type SchedulerLimits } from './scheduler.js'

export interface EmulatorStats {
  requests: number
  /** Requests whose client (the gateway) closed the connection before the reply ended. */
  aborted: number
  /** Headers of the most recent request, for checking what the gateway forwards. */
  lastHeaders: IncomingMessage['headers']
  lastPath: string
  /** sha256 of each body sent with the `hash` knob on, by x-request-id. */
  bodyHashes: Map<string, string>
  /** The scheduler's counters per model (running, peaks, queued, served, loads, evictions, ...). */
  models: Map<string, ModelCounts>
}

export interface Emulator {
  port: number
  url: string
  knobs: Knobs
  stats: EmulatorStats
  /** Ollama's scheduler as the emulator plays it: what is loaded, what waits. */
  scheduler: OllamaScheduler
  /** Resolves at the next aborted request (a test waits on it). */
  nextAbort(): Promise<void>
  /**
   * Stops listening, drops every connection and forgets what was loaded, like a crashed Ollama; `start` brings it back
   * on the same port with only its preloaded models.
   */
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export interface EmulatorOptions {
  port?: number
  host?: string
  knobs?: Partial<Knobs>
  models?: EmulatedModel[]
  version?: string
  /** Ollama's limits (slots, queue, models in memory, load time, keep_alive); the defaults limit nothing. */
  scheduler?: Partial<SchedulerLimits>
  clock?: SchedulerClock
  /** Models in memory at start (default: the catalog's first, as /api/ps always showed; [] for a fresh Ollama). */
  preload?: string[]
  /** The models a pull finds in the registry (default: any valid name); others fail as a missing manifest does. */
  registry?: string[]
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const knobs: Knobs = { ...defaultKnobs, ...options.knobs }
  const models = new Map((options.models ?? defaultModels).map((entry) => [entry.name, { ...entry }]))
  const blobs = new Set<string>()
  const registry = options.registry && new Set(options.registry.map(normalizeName))
  const version = options.version ?? '0.12.6'
  const scheduler = new OllamaScheduler(options.scheduler, options.clock)
  const preload = (options.preload ?? [...models.keys()].slice(0, 1)).map(normalizeName)
  const unknown = preload.find((name) => !models.has(name))
  if (unknown) throw new Error(`preload: model "${unknown}" is not one the emulator holds`)
  for (const name of preload) scheduler.preload(name)
  const stats: EmulatorStats = {
    requests: 0,
    aborted: 0,
    lastHeaders: {},
    lastPath: '',
    bodyHashes: new Map(),
    models: scheduler.counts,
  }
  const abortWaiters: (() => void)[] = []
  const sockets = new Set<Socket>()
  const host = options.host ?? '127.0.0.1'

  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    stats.requests++
    stats.lastHeaders = req.headers
    stats.lastPath = req.url ?? ''
    let finished = false
    let leaveScheduler = (): void => {}
    const done = (): void => {
      finished = true
      leaveScheduler()
    }
    res.on('close', () => {
      leaveScheduler()
      if (finished && res.writableFinished) return
      stats.aborted++
      for (const wake of abortWaiters.splice(0)) wake()
    })
    const requestKnobs = knobsFor(knobs, req.headers)
    if (requestKnobs.hash) hashBody(res, String(req.headers['x-request-id']), stats.bodyHashes)
    if (requestKnobs.fault === 'reset') return void req.socket.destroy()
    if (requestKnobs.fault === 'stall') return
    if (requestKnobs.fault === 'busy') {
      sendBusy(res, req.url ?? '')
      return done()
    }
    route(req, res, requestKnobs, done, (leave) => {
      leaveScheduler = leave
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  function route(
    req: IncomingMessage,
    res: ServerResponse,
    requestKnobs: Knobs,
    done: () => void,
    hold: (leave: () => void) => void,
  ): void {
    const path = (req.url ?? '/').split('?')[0]!
    const method = req.method ?? 'GET'
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 17 })
      res.end(method === 'HEAD' ? undefined : 'Ollama is running')
      return done()
    }
    if (path === '/api/version' && (method === 'GET' || method === 'HEAD')) {
      native.sendJson(res, 200, { version })
      return done()
    }
    if (path.startsWith('/api/blobs/')) return blob(req, res, path.slice('/api/blobs/'.length), done)
    const context = (body: Record<string, any>): native.NativeContext => ({
      res,
      body,
      knobs: requestKnobs,
      models,
      registry,
      scheduler,
      done,
    })
    const get: Record<string, () => void> = {
      '/api/tags': () => native.tags(context({})),
      '/api/ps': () => native.ps(context({})),
      '/v1/models': () => openai.listModels(context({})),
    }
    const post: Record<string, (body: Record<string, any>) => void> = {
      '/api/generate': (body) => native.generate(context(body), false),
      '/api/chat': (body) => native.generate(context(body), true),
      '/api/embed': (body) => native.embed(context(body)),
      '/api/embeddings': (body) => native.legacyEmbeddings(context(body)),
      '/api/show': (body) => native.show(context(body)),
      '/api/pull': (body) => modelCommands.progress(context(body), 'pull'),
      '/api/push': (body) => modelCommands.progress(context(body), 'push'),
      '/api/create': (body) => modelCommands.progress(context(body), 'create'),
      '/api/copy': (body) => modelCommands.copy(context(body)),
      '/v1/chat/completions': (body) => openai.completions(context(body), true),
      '/v1/completions': (body) => openai.completions(context(body), false),
      '/v1/embeddings': (body) => openai.embeddings(context(body)),
      '/v1/responses': (body) => responses.responses(context(body)),
      '/v1/messages': (body) => responses.messages(context(body)),
    }
    if ((method === 'GET' || method === 'HEAD') && get[path]) return get[path]()
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      return openai.getModel(context({}), decodeURIComponent(path.slice(11)))
    }
    const handler =
      method === 'POST' ? post[path] : method === 'DELETE' && path === '/api/delete' ? modelCommands.remove : undefined
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 18 }).end('404 page not found')
      return done()
    }
    readJson(req, (error, body) => {
      if (error) {
        if (path === '/v1/messages') responses.sendAnthropicError(res, 400, error)
        else if (path.startsWith('/v1/')) openai.sendOpenAIError(res, 400, error)
        else native.sendError(res, 400, error)
        return done()
      }
      if (handler === modelCommands.remove) return modelCommands.remove(context(body))
      const run = () => (handler as (body: Record<string, any>) => void)(body)
      if (!inferencePaths.has(path)) return run()
      admit({ scheduler, models, path, body, res, run, finished: done, hold })
    })
  }

  /** HEAD: 200 if the blob is stored; POST: stream the body, check its sha256 against the digest, 201. */
  function blob(req: IncomingMessage, res: ServerResponse, digest: string, done: () => void): void {
    const normalized = digest.replace('sha256-', 'sha256:')
    if (req.method === 'HEAD') {
      res.writeHead(blobs.has(normalized) ? 200 : 404, { 'content-length': 0 }).end()
      return done()
    }
    const hash = createHash('sha256')
    req.on('data', (chunk: Buffer) => hash.update(chunk))
    req.on('end', () => {
      const actual = `sha256:${hash.digest('hex')}`
      if (actual !== normalized)
        native.sendError(res, 400, `digest mismatch, expected "${normalized}", got "${actual}"`)
      else {
        blobs.add(actual)
        res.writeHead(201, { 'content-length': 0 }).end()
      }
      done()
    })
  }

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  await listen(options.port ?? 0)
  const port = (server.address() as AddressInfo).port

  return {
    port,
    url: `http://${host}:${port}`,
    knobs,
    stats,
    scheduler,
    nextAbort: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      scheduler.crash()
      await closed
    },
    // A restarted Ollama has only what it loads at start.
    async start() {
      await listen(port)
      for (const name of preload) scheduler.preload(name)
    },
    async close() {
      if (!server.listening) return
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

/** Hashes every byte written to `res`, recording the digest when the response finishes. */
function hashBody(res: ServerResponse, id: string, into: Map<string, string>): void {
  const hash = createHash('sha256')
  const write = res.write.bind(res) as (chunk: unknown) => boolean
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse
  res.write = ((chunk: string | Buffer) => {
    hash.update(chunk)
    return write(chunk)
  }) as typeof res.write
  res.end = ((chunk?: string | Buffer) => {
    if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) hash.update(chunk)
    return end(chunk)
  }) as typeof res.end
  res.on('finish', () => into.set(id, hash.digest('hex')))
}

function readJson(req: IncomingMessage, done: (error: string | undefined, body: Record<string, any>) => void): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8')
    if (text === '') return done('missing request body', {})
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return done('invalid request body', {})
      done(undefined, value as Record<string, any>)
    } catch (error) {
      done(`invalid character in request body: ${(error as Error).message}`, {})
    }
  })
}
