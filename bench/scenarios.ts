// What `npm run bench` measures: small requests and token streams, at one connection (added latency) and at many
// (throughput), plus a realistic streaming load.
import type { LoadSpec } from './wrk.js'

export interface Scenario {
  name: string
  describe: string
  /** Which goal the scenario checks. */
  kind: 'latency' | 'small' | 'stream' | 'realistic' | 'sse'
  load: Omit<LoadSpec, 'seconds'>
}

const generateBody = (stream: boolean) =>
  JSON.stringify({ model: 'llama3.2:3b', prompt: 'Why is the sky blue?', stream })

/** A streamed OpenAI chat of 32 tokens, with or without the client asking for usage. */
const chat = (includeUsage: boolean) =>
  ({
    method: 'POST',
    path: '/v1/chat/completions',
    body: JSON.stringify({
      model: 'llama3.2:3b',
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    }),
    headers: { 'x-emulator-tokens': '32' },
  }) as const

function scenarios(): Scenario[] {
  const tags = { method: 'GET', path: '/api/tags' } as const
  const generate = { method: 'POST', path: '/api/generate', body: generateBody(false) } as const
  const stream = {
    method: 'POST',
    path: '/api/generate',
    body: generateBody(true),
    headers: { 'x-emulator-tokens': '32' },
  } as const
  return [
    { name: 'tags c1', describe: 'GET /api/tags, 1 connection', kind: 'latency', load: { ...tags, connections: 1 } },
    {
      name: 'generate c1',
      describe: 'generate stream:false, 1 connection',
      kind: 'latency',
      load: { ...generate, connections: 1 },
    },
    {
      name: 'stream32 c1',
      describe: 'streamed generate, 32 tokens, 1 connection',
      kind: 'latency',
      load: { ...stream, connections: 1 },
    },
    { name: 'tags c50', describe: 'GET /api/tags, 50 connections', kind: 'small', load: { ...tags, connections: 50 } },
    {
      name: 'generate c50',
      describe: 'generate stream:false, 50 connections',
      kind: 'small',
      load: { ...generate, connections: 50 },
    },
    {
      name: 'stream32 c50',
      describe: 'streamed generate, 32 tokens, 50 connections',
      kind: 'stream',
      load: { ...stream, connections: 50 },
    },
    {
      name: 'v1chat32 c50',
      describe:
        'streamed /v1/chat/completions, 32 tokens, 50 connections; the gateway adds include_usage and strips it',
      kind: 'sse',
      load: { ...chat(false), connections: 50 },
    },
    {
      name: 'v1chat32+usage c50',
      describe: 'the same with include_usage asked by the client: the SSE events pass through untouched',
      kind: 'sse',
      load: { ...chat(true), connections: 50 },
    },
    {
      name: 'realistic c400',
      describe: 'streamed generate, 32 tokens 10 ms apart, 400 connections',
      kind: 'realistic',
      load: { ...stream, headers: { 'x-emulator-tokens': '32', 'x-emulator-delay-ms': '10' }, connections: 400 },
    },
  ]
}

export const allScenarios = scenarios()
