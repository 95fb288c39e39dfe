// Finds Ollama's final object (done:true with the metrics, or the whole body of a non-streamed reply) at the end of a
// response without buffering or parsing the stream: a structural scanner reads the top-level fields of each line as
// it passes and keeps only the values of the last one, so memory is constant whatever the size of a line.
import { JsonFieldScanner, type FieldSpec } from './jsonFields.js'

export interface OllamaUsage {
  /** Tokens in the prompt; undefined when Ollama did not say (it omits zero counts, e.g. a fully cached prompt). */
  promptTokens: number | undefined
  completionTokens: number | undefined
  doneReason: string | undefined
  totalDurationNs: number | undefined
  loadDurationNs: number | undefined
  promptEvalDurationNs: number | undefined
  evalDurationNs: number | undefined
  /** The final line was `{"error": ...}`: the backend failed mid-stream. */
  error: string | undefined
}

// The fields of Ollama's final object, by slot. Only the top-level object's keys count: a model can write
// `"eval_count":-5` into its text or its tool-call arguments, never at the top level.
const fields: FieldSpec[] = [
  { name: 'prompt_eval_count', kind: 'count' },
  { name: 'eval_count', kind: 'count' },
  { name: 'done_reason', kind: 'text' },
  { name: 'total_duration', kind: 'count' },
  { name: 'load_duration', kind: 'count' },
  { name: 'prompt_eval_duration', kind: 'count' },
  { name: 'eval_duration', kind: 'count' },
  { name: 'error', kind: 'text' },
]

/** No request uses more tokens than this: a larger count is a backend's fault, and unknown. */
export const maxTokenCount = 1_000_000_000

/** A token count as a backend reported it: an integer in [0, maxTokenCount], else unknown (never an error). */
export function tokenCount(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= maxTokenCount
    ? (value as number)
    : undefined
}

export class UsageSniffer {
  private readonly scanner = new JsonFieldScanner({ fields, lines: true })

  push(chunk: Buffer): void {
    if (chunk.length > 0) this.scanner.push(chunk)
  }

  /** Reads the metrics of the last line; fields Ollama did not send (or sent malformed) stay undefined. */
  finish(): OllamaUsage {
    const scanner = this.scanner
    scanner.finish()
    const error = scanner.text(7)
    return {
      promptTokens: tokenCount(scanner.count(0)),
      completionTokens: tokenCount(scanner.count(1)),
      doneReason: scanner.text(2) ?? undefined,
      totalDurationNs: scanner.count(3),
      loadDurationNs: scanner.count(4),
      promptEvalDurationNs: scanner.count(5),
      evalDurationNs: scanner.count(6),
      error: error === null ? 'the backend reported an error that is not a readable string' : error,
    }
  }
}

/** The metrics of one whole response body or final line. */
export function readUsage(line: Buffer): OllamaUsage {
  const sniffer = new UsageSniffer()
  sniffer.push(line)
  return sniffer.finish()
}
