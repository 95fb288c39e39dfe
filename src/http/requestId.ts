// X-Request-Id: the client's own id when it is sane (so traces join up), else a fresh one.
import { randomUUID } from 'node:crypto'

const sane = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export function pickRequestId(fromClient: string): string {
  return fromClient !== '' && sane.test(fromClient) ? fromClient : randomUUID()
}
