// A usage row for tests that write rows straight into a store: a finished generate with exact counts, changed by
// `fields`.
import type { UsageRow } from '../../src/usage/usageRow.js'

export function usageRow(fields: Partial<UsageRow> = {}): UsageRow {
  return {
    time: Date.now() - 1000,
    requestId: 'r',
    userId: null,
    username: null,
    keyId: null,
    api: 'ollama',
    route: 'generate',
    model: 'llama3.2:3b',
    backend: 'gpu1',
    status: 200,
    errorCode: null,
    promptTokens: 10,
    completionTokens: 20,
    tokens: 'exact',
    ttfbMs: 5,
    queueMs: 0,
    durationMs: 50,
    bytesIn: 100,
    bytesOut: 1000,
    clientIp: '127.0.0.1',
    clientAborted: false,
    cost: 0.5,
    cache: null,
    freeTokens: false,
    ...fields,
  }
}
