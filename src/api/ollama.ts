// The native Ollama API: every route of the reference, mounted at /api (a drop-in for OLLAMA_HOST) and at /ollama/v1
// (the prefixed form, with or without the /api segment that host-based clients append).
import type { RequiredFields } from './ollamaBody.js'

export type BodyKind = 'none' | 'json' | 'stream'

export interface OllamaRoute {
  name: string
  methods: readonly string[]
  /** Path under /api ('' for the root heartbeat). */
  path: string
  body: BodyKind
  /** The request struct Ollama decodes the body into: which fields the gateway reads and checks (ollamaBody.ts). */
  required: RequiredFields
  sniffUsage: boolean
  /** How the route spends model tokens: generating (prompt + reply), embedding (prompt only), or not at all. */
  tokens: TokenUse
}

export type TokenUse = 'generate' | 'embed' | 'none'

function route(
  name: string,
  methods: string[],
  path: string,
  body: BodyKind,
  extra: Partial<OllamaRoute> = {},
): OllamaRoute {
  return {
    name,
    methods,
    path,
    body,
    required: 'none',
    sniffUsage: false,
    tokens: 'none',
    ...extra,
  }
}

export const ollamaRoutes: OllamaRoute[] = [
  route('version', ['GET', 'HEAD'], '/version', 'none'),
  route('generate', ['POST'], '/generate', 'json', { required: 'generate', sniffUsage: true, tokens: 'generate' }),
  route('chat', ['POST'], '/chat', 'json', { required: 'generate', sniffUsage: true, tokens: 'generate' }),
  route('embed', ['POST'], '/embed', 'json', { required: 'embed', sniffUsage: true, tokens: 'embed' }),
  route('embeddings', ['POST'], '/embeddings', 'json', { required: 'embed', tokens: 'embed' }),
  route('tags', ['GET', 'HEAD'], '/tags', 'none'),
  route('ps', ['GET', 'HEAD'], '/ps', 'none'),
  route('show', ['POST'], '/show', 'json', { required: 'named' }),
  route('pull', ['POST'], '/pull', 'json', { required: 'transfer' }),
  route('push', ['POST'], '/push', 'json', { required: 'transfer' }),
  route('create', ['POST'], '/create', 'json', { required: 'create' }),
  route('copy', ['POST'], '/copy', 'json', { required: 'copy' }),
  route('delete', ['DELETE'], '/delete', 'json', { required: 'named' }),
  route('blobs', ['HEAD', 'POST'], '/blobs/:digest', 'stream'),
]

/** The heartbeat at the root: `Ollama is running`. */
export const rootRoute = route('root', ['GET', 'HEAD'], '', 'none')

/** Where the native API is mounted. */
export const ollamaMounts = ['/api', '/ollama/v1/api', '/ollama/v1']
