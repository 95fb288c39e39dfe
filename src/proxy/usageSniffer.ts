// Finds Ollama's final object (done:true with the metrics, or the whole body of a non-streamed reply) at the end of a
// response without buffering or parsing the stream: the last line is kept as views of its chunks (up to 64 KiB) and a
// structural scanner reads its top-level fields at the end; a longer line is scanned as it passes, so memory stays
// bounded whatever the size of a line.
import { FieldTable, JsonFieldScanner } from './topLevelScan.js'

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
const table = new FieldTable({
  lines: true,
  fields: [
    { name: 'prompt_eval_count', kind: 'count' },
    { name: 'eval_count', kind: 'count' },
    { name: 'done_reason', kind: 'text' },
    { name: 'total_duration', kind: 'count' },
    { name: 'load_duration', kind: 'count' },
    { name: 'prompt_eval_duration', kind: 'count' },
    { name: 'eval_duration', kind: 'count' },
    { name: 'error', kind: 'text' },
  ],
})

/** No request uses more tokens than this: a larger count is a backend's fault, and unknown. */
export const maxTokenCount = 1_000_000_000

/** A token count as a backend reported it: an integer in [0, maxTokenCount], else unknown (never an error). */
export function tokenCount(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= maxTokenCount
    ? (value as number)
    : undefined
}

const newline = 0x0a
/**
 * The current line is held as views of its chunks (no copy) up to this size and scanned only if it turns out to be the
 * last: streamed token lines cost one lastIndexOf each. A longer line is scanned as it comes and not held.
 */
const holdBytes = 64 * 1024

export class UsageSniffer {
  private readonly scanner = new JsonFieldScanner(table)
  private pieces: Buffer[] = []
  private bytes = 0
  /** The held line ended with its newline: the next byte starts another. */
  private lineEnded = false
  /** The current line was too long to hold: its bytes go to the scanner as they come, until its newline. */
  private scanning = false

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    if (this.lineEnded) this.reset()
    if (this.scanning) {
      const end = chunk.indexOf(newline)
      if (end < 0) return this.scanner.push(chunk)
      this.scanner.push(chunk.subarray(0, end + 1))
      this.scanning = false
      chunk = chunk.subarray(end + 1)
      if (chunk.length === 0) return
    }
    const lastBreak = chunk.length > 1 ? chunk.lastIndexOf(newline, chunk.length - 2) : -1
    if (lastBreak >= 0) {
      this.reset()
      chunk = chunk.subarray(lastBreak + 1)
    }
    this.pieces.push(chunk)
    this.bytes += chunk.length
    this.lineEnded = chunk[chunk.length - 1] === newline
    if (this.bytes > holdBytes) {
      for (const piece of this.pieces) this.scanner.push(piece)
      this.scanning = !this.lineEnded
      this.reset()
    }
  }

  /** Reads the metrics of the last line; fields Ollama did not send (or sent malformed) stay undefined. */
  finish(): OllamaUsage {
    const scanner = this.scanner
    for (const piece of this.pieces) scanner.push(piece)
    this.reset()
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

  private reset(): void {
    this.pieces.length = 0
    this.bytes = 0
    this.lineEnded = false
  }
}

/** The metrics of one whole response body or final line. */
export function readUsage(line: Buffer): OllamaUsage {
  const sniffer = new UsageSniffer()
  sniffer.push(line)
  return sniffer.finish()
}
