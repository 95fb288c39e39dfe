// Answers a request whose head the snapshot refused (ambiguous framing or credential, bytes a header may not carry):
// 400 in the route's dialect, then the connection closed; the body is drained by uWS and dropped, never read.
//
// The answer waits for the next turn of the event loop, on purpose. After a handler returns, uWS v20.30 goes on parsing
// what is already buffered on the connection, and serves a request found there even after an `end(body, true)` (its
// close is lost; measured, see docs/http.md). Answered a turn later, a request already pipelined behind the refused
// one finds a response pending, and uWS closes the connection itself: nothing that followed an ambiguous head runs.
import type { HttpResponse } from '../../native/uws.js'
import type { GatewayError } from '../errors.js'
import { ClientReply } from './clientReply.js'
import { writeError, type Dialect } from './errorResponse.js'

export function refuseHead(
  res: HttpResponse,
  dialect: Dialect,
  requestId: string,
  refusal: GatewayError,
  startedAt: number,
): void {
  const reply = new ClientReply(res)
  res.onAborted(() => reply.markAborted())
  res.onData(ignoreBody)
  setImmediate(() => reply.endWith((open) => writeError(open, dialect, requestId, refusal, true, startedAt)))
}

function ignoreBody(): void {}
