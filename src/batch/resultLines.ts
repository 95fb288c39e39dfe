// The lines of a batch's output and error files, in OpenAI's shape: {id, custom_id, response: {status_code,
// request_id, body}, error}. A line the backend or the gateway answered has its response (a failure's in the error
// file); a line of a file that failed validation has only an error naming it.
import { randomBytes } from 'node:crypto'
import type { LineError } from './lineCheck.js'
import type { SyntheticAnswer } from './syntheticHttp.js'

/** One settled line: its answer as the client would have read it (JSON, or the text when it was not JSON). */
export function resultLine(requestId: string, customId: string, answer: SyntheticAnswer): string {
  const text = answer.body.toString('utf8')
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // A reply that is not JSON (an SSE stream a line asked for) is kept as its text.
  }
  return JSON.stringify({
    id: lineId(),
    custom_id: customId,
    response: { status_code: answer.status, request_id: requestId, body },
    error: null,
  })
}

/** A line named by validation: no response, the error with its code and message. */
export function errorLine(error: LineError): string {
  return JSON.stringify({
    id: lineId(),
    custom_id: null,
    response: null,
    error: { code: error.code, message: error.message, line: error.line, param: error.param },
  })
}

function lineId(): string {
  return `batch_req_${randomBytes(12).toString('hex')}`
}
