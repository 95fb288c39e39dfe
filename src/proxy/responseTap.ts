// A response tap sees every chunk of a response on its way to the client: it finds the token counts, and may change
// or hold back what the client gets (the OpenAI routes remove a usage chunk the client did not ask for, and name the
// alias the client used). The native routes only read their counts and change nothing.
import { tokenCount, UsageSniffer, type OllamaUsage } from './usageSniffer.js'

export interface ResponseTap {
  /** What of this chunk goes to the client now: the chunk itself, a changed one, or nothing (held or dropped). */
  push(chunk: Buffer): Buffer | undefined
  /** At the end of the response: whatever was held back, to send last. */
  end(): Buffer | undefined
  /** The counts found (once ended); undefined when the response carried none. */
  usage(): OllamaUsage | undefined
}

/** Made when the response head arrives, for its status and content type; undefined: nothing to tap. */
export type TapFactory = (status: number, contentType: string) => ResponseTap | undefined

/** The native API: Ollama's final line carries the counts; every byte passes unchanged. */
export class NativeUsageTap implements ResponseTap {
  private readonly sniffer = new UsageSniffer()
  private found: OllamaUsage | undefined

  push(chunk: Buffer): Buffer {
    this.sniffer.push(chunk)
    return chunk
  }

  end(): undefined {
    this.found = this.sniffer.finish()
    return undefined
  }

  usage(): OllamaUsage | undefined {
    return this.found
  }
}

/** Counts from an OpenAI (`prompt_tokens`/`completion_tokens`) or Responses/Anthropic (`input_/output_tokens`) usage. */
export function countsOf(usage: unknown, previous?: OllamaUsage): OllamaUsage | undefined {
  if (typeof usage !== 'object' || usage === null) return previous
  const fields = usage as Record<string, unknown>
  const prompt = tokenCount(fields.prompt_tokens) ?? tokenCount(fields.input_tokens)
  const completion = tokenCount(fields.completion_tokens) ?? tokenCount(fields.output_tokens)
  return {
    ...noUsage,
    ...previous,
    promptTokens: prompt ?? previous?.promptTokens,
    // Embeddings generate nothing: a usage without completion tokens means none.
    completionTokens: completion ?? previous?.completionTokens ?? (prompt !== undefined ? 0 : undefined),
  }
}

export const noUsage: OllamaUsage = {
  promptTokens: undefined,
  completionTokens: undefined,
  doneReason: undefined,
  totalDurationNs: undefined,
  loadDurationNs: undefined,
  promptEvalDurationNs: undefined,
  evalDurationNs: undefined,
  error: undefined,
}
