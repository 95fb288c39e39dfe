// uWS wants the whole status line ("404 Not Found"); build each one once. Every response's head starts here, so the
// headers the gateway adds to all of them (Strict-Transport-Security with TLS on) are written here too.
import { STATUS_CODES } from 'node:http'
import type { HttpResponse } from '../../native/uws.js'

const lines = new Map<number, string>()

/**
 * The Strict-Transport-Security value of the gateway that listened or reloaded last (process-wide, like the header
 * limit in native/uws.ts: one gateway per process in production).
 */
let strictTransport: string | undefined

export function statusLine(status: number): string {
  let line = lines.get(status)
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`
    lines.set(status, line)
  }
  return line
}

/** Writes the status line and the headers every response carries. */
export function writeStatus(res: HttpResponse, status: number): void {
  res.writeStatus(statusLine(status))
  if (strictTransport !== undefined) res.writeHeader('strict-transport-security', strictTransport)
}

/** Sets (or with undefined, stops) the Strict-Transport-Security header on every response from now on. */
export function setStrictTransport(value: string | undefined): void {
  strictTransport = value
}
