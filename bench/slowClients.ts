// Slow and idle clients, as a slowloris attack makes them: connections that send nothing, a request head a line at a
// time, or a head and part of a body and then nothing. Used by the slow-clients test (counts) and bench/slowloris.ts.
import { connect, type Socket } from 'node:net'

export type SlowKind = 'silent' | 'dribbled-head' | 'stalled-body'

export interface SlowClients {
  /** Connections opened so far (reopened ones included). */
  readonly opened: number
  /** Connections the server closed (the client never closes one before stop()). */
  readonly closedByServer: number
  /** Open now. */
  readonly open: number
  /** Resolves once each of the first `count` connections has connected (or failed to). */
  ready: Promise<void>
  /** Resolves when every connection of the first round has been closed by the server (without reopen). */
  allClosed: Promise<void>
  /** Closes every connection and stops reopening. */
  stop(): void
}

const first: Record<SlowKind, string> = {
  silent: '',
  'dribbled-head': 'GET /api/tags HTTP/1.1\r\nHost: gateway\r\n',
  'stalled-body': 'POST /api/generate HTTP/1.1\r\nHost: gateway\r\nContent-Length: 100000\r\n\r\n{"model":',
}

/**
 * Opens `count` connections of one kind to host:port. `dribble`: a header line per second to the dribbled-head ones
 * (the attack's way to look alive); `reopen`: a connection the server closes is replaced, as an attacker would.
 */
export function openSlowClients(
  host: string,
  port: number,
  count: number,
  kind: SlowKind,
  options: { reopen?: boolean; dribble?: boolean } = {},
): SlowClients {
  const sockets = new Set<Socket>()
  let opened = 0
  let closedByServer = 0
  let stopped = false
  let firstRoundOpen = 0 // first-round connections settled
  let firstRoundLeft = count
  let markReady!: () => void
  let markAllClosed!: () => void
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  const allClosed = new Promise<void>((resolve) => (markAllClosed = resolve))
  const open = (firstRound: boolean) => {
    const socket = connect({ host, port })
    opened++
    sockets.add(socket)
    // The first round is ready when each of its connections has connected or failed (a refused one counts too).
    let settled = false
    const settle = () => {
      if (firstRound && !settled && ++firstRoundOpen === count) markReady()
      settled = true
    }
    socket.on('connect', () => {
      if (first[kind] !== '') socket.write(first[kind])
      settle()
    })
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.on('close', () => {
      settle()
      sockets.delete(socket)
      if (stopped) return
      closedByServer++
      if (firstRound && --firstRoundLeft === 0) markAllClosed()
      if (options.reopen) open(false)
    })
  }
  for (let i = 0; i < count; i++) open(true)
  const dribble =
    options.dribble && kind === 'dribbled-head'
      ? setInterval(() => {
          for (const socket of sockets) if (!socket.connecting) socket.write('X-Slow: 1\r\n')
        }, 1000)
      : undefined
  return {
    get opened() {
      return opened
    },
    get closedByServer() {
      return closedByServer
    },
    get open() {
      return sockets.size
    },
    ready,
    allClosed,
    stop() {
      stopped = true
      clearInterval(dribble)
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    },
  }
}
