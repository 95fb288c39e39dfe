// The hook API for plugin authors: what a plugin module exports and what its hooks see and may return. Types only, so
// a plugin written in TypeScript imports them (`import type { Plugin } from 'parallama/plugin'`, or this file's path
// in a checkout) and a plain .mjs plugin needs nothing. docs/plugins.md explains each hook with examples.
import type { ExchangeResult } from '../proxy/exchange.js'

/** Who is calling: ids and names from the credential check, never the credential itself. */
export interface PluginCaller {
  readonly userId: number
  readonly username: string
  readonly role: string
  /** The API key used, or null for a login session. */
  readonly keyId: string | null
}

/** One request as `onRequest` sees it: after authentication, the model allow-list and the limits. */
export interface PluginRequest {
  /** `ollama` (the native API) or `openai` (/v1). */
  readonly api: string
  /** The route's name: `generate`, `chat`, `embed`, `chat/completions`, ... */
  readonly route: string
  readonly method: string
  /** The path the client asked for, without the query string. */
  readonly path: string
  readonly requestId: string
  /** undefined on public routes (no credential needed). */
  readonly caller: PluginCaller | undefined
  /** The model that will run, aliases resolved, in its normal form (`llama3:latest`). */
  readonly model: string | null
  /** Whether the reply streams (NDJSON on the native API, SSE on /v1). */
  readonly stream: boolean
  /** The JSON body as the client sent it (or as the previous plugin left it): never changed in place. */
  readonly body: Buffer
  /** The body parsed, on first call only (then cached): parsing costs only a plugin that looks. */
  json(): any
}

/** What `onRequest` may return; undefined (or nothing) lets the request go on unchanged. */
export type RequestAction = RewriteAction | RefuseAction | AnswerAction | HeadersAction

/** Adds response headers (to the backend's reply, or to another plugin's answer). */
export interface HeadersAction {
  headers: Record<string, string>
}

/**
 * Changes the request before it goes on: a new body (bytes, text, or an object to serialise), and/or a new model (the
 * body's top-level `model` set to it). The gateway reads the result exactly as the backend will, and the caller's
 * model allow-list decides on it again: a rewrite cannot reach a model the credential may not use.
 */
export interface RewriteAction {
  rewrite: { body?: Buffer | string | object; model?: string }
  headers?: Record<string, string>
}

/**
 * Refuses the request with a coded error, answered in the route's dialect: `status` 400..499, `code` 1-64 of
 * [a-z0-9_.-] starting with a letter, a message (at most 1000 characters). The gateway's own code for it is
 * `plugin_refused` (the x-parallama-error header, usage rows and metrics); the client sees the plugin's code.
 */
export interface RefuseAction {
  refuse: { status: number; code: string; message: string }
}

/**
 * Answers the request without a backend (a cache is one): a status (default 200), headers, and a body — whole, or in
 * chunks (an array or an async iterable: what a stream request's client reads as the stream).
 */
export interface AnswerAction {
  answer: {
    status?: number
    headers?: Record<string, string>
    body?: Buffer | string
    chunks?: Iterable<Buffer | string> | AsyncIterable<Buffer | string>
  }
}

/** What `onResponseChunk` is told with each chunk. */
export interface ChunkInfo {
  readonly requestId: string
  readonly api: string
  readonly route: string
  /** The response's status and content type (`application/x-ndjson`, `text/event-stream`, `application/json`...). */
  readonly status: number
  readonly contentType: string
}

/** The final result of a request, with its exact usage (the same object the usage row is made from). */
export type PluginResult = Readonly<ExchangeResult>

/**
 * A plugin. Every hook is optional; a hook that throws or rejects fails the request with `500 plugin_error`
 * (`onRequest`), or is logged and counted (`onResponseChunk`, `onEnd`: the reply and its usage row go on).
 */
export interface Plugin {
  /** For logs and counters (default: the module name from the config). */
  name?: string
  /** Runs in config order, each after the previous one's rewrite; bounded by the plugin's `timeout`. */
  onRequest?(request: PluginRequest): RequestAction | undefined | void | Promise<RequestAction | undefined | void>
  /**
   * Sees every chunk the client gets, as it gets it (native NDJSON, /v1 SSE, whole replies, plugin answers). Observes
   * only: the chunk is the client's, do not change it (copy it to keep it past the call).
   */
  onResponseChunk?(chunk: Buffer, info: ChunkInfo): void
  /** Once per request that reached the plugins, however it ended; a returned promise is not awaited. */
  onEnd?(result: PluginResult): void | Promise<void>
  /** Called when a reload replaces the chain (or the gateway stops): free timers, files, connections. */
  close?(): void | Promise<void>
}

/** What a plugin's factory gets besides its options. */
export interface PluginContext {
  /** The gateway's logger; lines carry `plugin: name`. */
  logger: {
    debug(message: string, fields?: Record<string, unknown>): void
    info(message: string, fields?: Record<string, unknown>): void
    warn(message: string, fields?: Record<string, unknown>): void
    error(message: string, fields?: Record<string, unknown>): void
  }
}

/** A plugin module's default export: a factory called with the config's `options` (or a plugin object itself). */
export type PluginFactory = (options: Record<string, unknown>, context: PluginContext) => Plugin | Promise<Plugin>
