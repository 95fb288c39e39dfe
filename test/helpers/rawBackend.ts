// A backend written on raw TCP, for what no well-behaved HTTP server sends: informational (1xx) responses before the
// real one, resets and stalls at chosen points, bodies large enough to fill every buffer on the way. Each request
// says what to do in an `x-behaviour` header (JSON, forwarded by the gateway like any end-to-end header).
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface Behaviour {
  /** Informational statuses sent before anything else (100, 102, 103). */
  informational?: number[]
  /**
   * `whole`: a small JSON reply with its length; `stream`: NDJSON lines, chunked, `lines` of them `gapMs` apart;
   * `large`: `lines` lines of 1 KiB sent as fast as the socket takes them; `reset`: the connection dropped before any
   * final head; `stall`: no final head ever; `resetMid` / `stallMid`: `lines` lines, then dropped / silent.
   */
  final: 'whole' | 'stream' | 'large' | 'reset' | 'stall' | 'resetMid' | 'stallMid'
  lines?: number
  gapMs?: number
  /** Answer as soon as the request head arrives, without waiting for (or reading) the body. */
  early?: boolean
  /** `whole`: the status to answer with (200), and its JSON body (Ollama's final line). */
  status?: number
  body?: string
}

export interface RawBackend {
  url: string
  /** Requests whose head arrived. */
  requests: number
  /** Connections that ended (closed by the gateway or by us). */
  closed: number
  /** The head (as received) and body of the last request. */
  last: { head: string; body: Buffer } | undefined
  close(): Promise<void>
}

const line = (index: number) => `{"model":"m","response":"token ${index} ${'x'.repeat(20)}","done":false}\n`
const kibLine = (index: number) => `{"model":"m","response":"${String(index).padEnd(1000, 'y')}","done":false}\n`
const finalLine = '{"model":"m","response":"","done":true,"prompt_eval_count":3,"eval_count":5}\n'

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`
}

/** `behaviour`: what every request gets, whatever its header says (a backend that fails while another does not). */
export async function startRawBackend(behaviour?: Behaviour): Promise<RawBackend> {
  const sockets = new Set<net.Socket>()
  const state: { requests: number; closed: number; last: RawBackend['last'] } = {
    requests: 0,
    closed: 0,
    last: undefined,
  }
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      state.closed++
    })
    let received = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data])
      const headEnd = received.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const head = received.subarray(0, headEnd).toString('latin1')
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
      const asked =
        behaviour ?? (JSON.parse(/\r\nx-behaviour: *([^\r]*)/i.exec(head)?.[1] ?? '{"final":"whole"}') as Behaviour)
      if (received.length < headEnd + 4 + length && !asked.early) return
      socket.removeAllListeners('data')
      socket.resume()
      state.requests++
      state.last = { head, body: Buffer.from(received.subarray(headEnd + 4, headEnd + 4 + length)) }
      void answer(socket, asked)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests
    },
    get closed() {
      return state.closed
    },
    get last() {
      return state.last
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

async function answer(socket: net.Socket, behaviour: Behaviour): Promise<void> {
  const write = (text: string) => !socket.destroyed && socket.write(text)
  for (const status of behaviour.informational ?? []) {
    write(`HTTP/1.1 ${status} Informational\r\n${status === 103 ? 'link: </style.css>; rel=preload\r\n' : ''}\r\n`)
  }
  const lines = behaviour.lines ?? 3
  switch (behaviour.final) {
    case 'whole': {
      const body = behaviour.body ?? finalLine
      const status = behaviour.status ?? 200
      write(
        `HTTP/1.1 ${status} Status\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
      socket.end()
      return
    }
    case 'reset':
      socket.resetAndDestroy()
      return
    case 'stall':
      return
    default:
  }
  write('HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n')
  for (let index = 0; index < lines && !socket.destroyed; index++) {
    if (behaviour.final === 'large') {
      if (!write(chunk(kibLine(index)))) await new Promise((resolve) => socket.once('drain', resolve))
    } else {
      write(chunk(line(index)))
      if (behaviour.gapMs) await sleep(behaviour.gapMs)
    }
  }
  if (behaviour.final === 'resetMid') return void socket.resetAndDestroy()
  if (behaviour.final === 'stallMid') return
  write(chunk(finalLine) + '0\r\n\r\n')
  socket.end()
}

/** A loopback port nothing listens on (a backend that refuses every connection). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
