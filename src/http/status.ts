// uWS wants the whole status line ("404 Not Found"); build each one once.
import { STATUS_CODES } from 'node:http'

const lines = new Map<number, string>()

export function statusLine(status: number): string {
  let line = lines.get(status)
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`
    lines.set(status, line)
  }
  return line
}
