// Loads the uWebSockets.js binding. The package silently falls back to a slow pure-JS server when its native binary
// does not load; we detect that and refuse to start unless the config explicitly allows it.
import { createRequire } from 'node:module'
import type * as Uws from '@trufflesuite/uws-js-unofficial'

export type UwsModule = typeof Uws
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial'

const require = createRequire(import.meta.url)
const packageName = '@trufflesuite/uws-js-unofficial'

export interface LoadOptions {
  /**
   * Largest request header block. The v20.30 binding does not read UWS_HTTP_MAX_HEADERS_SIZE (the name is not in the
   * binary; measured: a head that arrives in more than one read is cut at 4 KiB, one that arrives in a single read is
   * taken up to the 512 KiB receive buffer). We still set it for bindings that do, and the request snapshot enforces
   * this limit itself (docs/http.md).
   */
  maxHeaderBytes: number
  allowFallback: boolean
  warn: (message: string) => void
}

export class NativeBindingError extends Error {
  readonly code = 'uws_native_missing'
}

let loaded: { uws: UwsModule; native: boolean } | undefined
let headerLimit = 16384

/** The header block limit of the gateway that loaded the binding last (what the request snapshot enforces). */
export function maxHeaderBytes(): number {
  return headerLimit
}

export function loadUws(options: LoadOptions): { uws: UwsModule; native: boolean } {
  headerLimit = options.maxHeaderBytes
  if (loaded) return loaded
  const wanted = String(options.maxHeaderBytes)
  const current = process.env.UWS_HTTP_MAX_HEADERS_SIZE
  if (current !== undefined && current !== wanted) {
    options.warn(`UWS_HTTP_MAX_HEADERS_SIZE=${current} in the environment overrides server.max_header_bytes`)
  } else {
    process.env.UWS_HTTP_MAX_HEADERS_SIZE = wanted
  }
  const uws = require(packageName) as UwsModule
  const native = isNative(uws)
  if (!native && !options.allowFallback) {
    throw new NativeBindingError(
      `the native uWebSockets.js binary for ${process.platform}-${process.arch} (Node ABI ${process.versions.modules}) ` +
        `did not load, and its pure-JS fallback is far slower. Use Node.js 20 on Linux x64/arm64 (glibc 2.27+), ` +
        `or set server.allow_js_fallback: true to run on the fallback anyway.`,
    )
  }
  if (!native) options.warn('running on the pure-JS uWebSockets fallback: expect a fraction of the native throughput')
  else silence(uws)
  loaded = { uws, native }
  return loaded
}

/** The native binding is a `.node` file in require's cache whose exports are what the package returned. */
function isNative(uws: UwsModule): boolean {
  for (const [file, entry] of Object.entries(require.cache)) {
    if (file.endsWith('.node') && file.includes('uws-js-unofficial') && entry?.exports === uws) return true
  }
  return false
}

/** uWS adds a `uWebSockets: 20` header to every response unless told not to (undocumented switch). */
function silence(uws: UwsModule): void {
  uws._cfg('silent')
}
