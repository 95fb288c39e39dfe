// A request the gateway makes to itself in-process: the uWS request and response a route handler expects, built from a
// method, path, headers and body, with the answer collected in memory. A batch line runs through the very handler a
// client's request runs through (every stage, in order) without a socket, so no network policy meant for clients
// (allow_ip, TLS, signatures) stands between the gateway and its own work, and nothing of the pipeline is copied.
// Only the calls the handlers make are answered (see src/http/ and src/proxy/); the types are uWS's, by cast.
import type { HttpRequest, HttpResponse } from '../../native/uws.js'

export interface SyntheticRequest {
  method: 'POST'
  path: string
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>
  body: Buffer
}

export interface SyntheticAnswer {
  status: number
  headers: Record<string, string>
  body: Buffer
}

type Handler = (res: HttpResponse, req: HttpRequest) => void

/** Runs `handler` on the request; resolves with the whole answer once the handler ends (or closes) the response. */
export function runSynthetic(handler: Handler, request: SyntheticRequest): Promise<SyntheticAnswer> {
  return new Promise((resolve) => {
    const response = new SyntheticResponse(request.body, resolve)
    handler(response as unknown as HttpResponse, syntheticRequest(request) as unknown as HttpRequest)
  })
}

function syntheticRequest(request: SyntheticRequest) {
  const headers: Record<string, string> = { ...request.headers, 'content-length': String(request.body.length) }
  return {
    getUrl: () => request.path,
    getQuery: () => '',
    getMethod: () => request.method.toLowerCase(),
    getCaseSensitiveMethod: () => request.method,
    getHeader: (name: string) => headers[name] ?? '',
    getParameter: () => '',
    forEach: (visit: (name: string, value: string) => void) => {
      for (const [name, value] of Object.entries(headers)) visit(name, value)
    },
  }
}

const loopback = new TextEncoder().encode('127.0.0.1').buffer

/** The response side: status, headers and body collected; the body handed over as uWS hands a whole small body. */
class SyntheticResponse {
  private status = 200
  private readonly headers: Record<string, string> = {}
  private readonly chunks: Buffer[] = []
  private ended = false

  constructor(
    private readonly body: Buffer,
    private readonly done: (answer: SyntheticAnswer) => void,
  ) {}

  cork(write: () => void): this {
    write()
    return this
  }

  writeStatus(status: string): this {
    this.status = Number.parseInt(status, 10)
    return this
  }

  writeHeader(name: string, value: string): this {
    this.headers[name.toLowerCase()] = value
    return this
  }

  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk))
    return true
  }

  end(chunk?: string | Uint8Array): this {
    if (chunk !== undefined) this.write(chunk)
    this.finish()
    return this
  }

  endWithoutBody(): this {
    this.finish()
    return this
  }

  close(): this {
    this.finish()
    return this
  }

  /** The body arrives in one piece on a later turn, as from a socket (the handler registers onData first). */
  onData(receive: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    const copy = new Uint8Array(this.body).buffer
    setImmediate(() => receive(copy, true))
    return this
  }

  /** Nobody leaves a synthetic request halfway: the callback is never called. */
  onAborted(): this {
    return this
  }

  onWritable(): this {
    return this
  }

  pause(): void {}

  resume(): void {}

  getRemoteAddressAsText(): ArrayBuffer {
    return loopback
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    this.done({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks) })
  }
}
