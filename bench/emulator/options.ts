// The emulator's knobs. Each can be set at start and overridden per request with an `x-emulator-<knob>` header, so
// one emulator serves tests that need different behaviour.
import type { IncomingHttpHeaders } from 'node:http'

export const faults = [
  'none',
  'reset',
  'stall',
  'busy',
  'reset_mid_stream',
  'stall_mid_stream',
  'error_mid_stream',
] as const
export type Fault = (typeof faults)[number]

export interface Knobs {
  /** Tokens in each generated reply (num_predict / max_tokens lower it). */
  tokens: number
  /** Milliseconds between two tokens. */
  delayMs: number
  /** Milliseconds before the first token (and before the headers, as Ollama sends them with it). */
  firstTokenMs: number
  /** Re-chunk the stream into pieces of this many bytes (0 = one line per chunk), so lines split across chunks. */
  chunkBytes: number
  /** Dimensions of embedding vectors. */
  dimensions: number
  /**
   * reset: drop the connection before answering; stall: never answer; busy: 503 server busy;
   * reset_mid_stream / stall_mid_stream / error_mid_stream: after half of the tokens.
   */
  fault: Fault
  /** 1: record the sha256 of the body sent, under the request's x-request-id (stats.bodyHashes). */
  hash: number
  /**
   * 1: the native final object carries model-made counts inside its tool-call arguments
   * (`"prompt_eval_count":-5,"eval_count":-100000`) and, as Ollama does for a cached prompt, no top-level prompt count.
   */
  decoyCounts: number
  /** On OpenAI streams: the first event carries this many bytes of content, written in 64 KiB pieces (0: off). */
  hugeEventBytes: number
}

export const defaultKnobs: Knobs = {
  tokens: 32,
  delayMs: 0,
  firstTokenMs: 0,
  chunkBytes: 0,
  dimensions: 768,
  fault: 'none',
  hash: 0,
  decoyCounts: 0,
  hugeEventBytes: 0,
}

/** The knobs for one request: the emulator's, overridden by its x-emulator-* headers. */
export function knobsFor(base: Knobs, headers: IncomingHttpHeaders): Knobs {
  if (!Object.keys(headers).some((name) => name.startsWith('x-emulator-'))) return base
  const knobs = { ...base }
  const number = (name: string, current: number): number => {
    const value = headers[`x-emulator-${name}`]
    return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : current
  }
  knobs.tokens = number('tokens', knobs.tokens)
  knobs.delayMs = number('delay-ms', knobs.delayMs)
  knobs.firstTokenMs = number('first-token-ms', knobs.firstTokenMs)
  knobs.chunkBytes = number('chunk-bytes', knobs.chunkBytes)
  knobs.dimensions = number('dimensions', knobs.dimensions)
  knobs.hash = number('hash', knobs.hash)
  knobs.decoyCounts = number('decoy-counts', knobs.decoyCounts)
  knobs.hugeEventBytes = number('huge-event-bytes', knobs.hugeEventBytes)
  const fault = headers['x-emulator-fault']
  if (typeof fault === 'string' && (faults as readonly string[]).includes(fault)) knobs.fault = fault as Fault
  return knobs
}
