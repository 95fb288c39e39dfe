// The plugin chain in the request path's slots (src/api/pipeline.ts): onRequest after the limits, the response head
// and every chunk in the exchange's taps, onEnd as one of finish's consumers. Each reads the chain the host holds now
// (a reload swaps it), so a gateway with no plugin pays one test per slot: no view, no promise, no closure.
import type { RequestPlugins } from './chain.js'
import type { PluginHost } from './loader.js'
import { runRequestHooks, type PluginRequestInput, type RequestDecision } from './requestStage.js'
import type { AuthorizeStage } from '../auth/authorize.js'
import { normalizeModel } from '../auth/modelAllowList.js'
import type { RequestFields } from '../api/requestFields.js'
import type { GatewayError } from '../errors.js'
import type { ExchangeResult } from '../proxy/exchange.js'

/** What the plugins' slots read of a request's state (RequestState), and where they keep its view of the chain. */
export interface PluginState extends PluginRequestInput {
  plugins: RequestPlugins | undefined
}

/** The route as onRequest sees it: its names, and its own fields reader (a rewritten body is read with it). */
export interface PluginRoute {
  api: string
  name: string
  readFields?: (body: Buffer) => RequestFields | GatewayError
}

export interface PluginStages {
  /**
   * onRequest: makes the request's view of the chain (none without plugins) and, when some plugin has an onRequest
   * hook and the route collected a JSON body, runs them: the decision to await. Undefined: go on at once.
   */
  request: (
    state: PluginState,
    route: PluginRoute,
    body: Buffer | undefined,
    authorize: AuthorizeStage,
  ) => Promise<RequestDecision> | undefined
  /** The response head: its status and type for the chunks' info; the headers plugins add. */
  head: (state: PluginState, status: number, contentType: string) => readonly string[] | undefined
  /** Every chunk the client gets (after the route's tap, its last piece included). */
  chunk: (state: PluginState, chunk: Buffer) => void
  /**
   * finish's consumer: the result, once, to the onEnd hooks of the chain the request started on (one that never reached
   * the plugins stage: of the chain in place now).
   */
  end: (result: ExchangeResult, state: { readonly plugins: { end(result: ExchangeResult): void } | undefined }) => void
}

export function pluginStages(host: PluginHost): PluginStages {
  return {
    request: (state, route, body, authorize) => {
      const chain = host.chain
      if (!chain) return undefined
      const view = chain.forRequest(state.request.requestId, route.api, route.name)
      state.plugins = view
      if (!body || !route.readFields || chain.requestHooks.length === 0) return undefined
      return runRequestHooks(chain, state, route.readFields, body, authorize, normalizeModel, view)
    },
    head: (state, status, contentType) => state.plugins?.head(status, contentType),
    chunk: (state, chunk) => state.plugins?.chunk(chunk),
    end: (result, state) => (state.plugins ? state.plugins.end(result) : host.chain?.endBefore(result)),
  }
}
