// Finds Ollama's final object (done:true with the metrics, or the whole body of a non-streamed reply) at the end of a
// response without buffering or parsing the stream: it keeps views of the chunks that make up the current last line
// only, and reads the few fields it needs out of that line when the response ends.

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

const newline = 0x0a
/** A final line longer than this (a huge generate `context`) is kept from its end; the metrics are at the end. */
const maxLineBytes = 1024 * 1024

export class UsageSniffer {
  private pieces: Buffer[] = []
  private bytes = 0
  private lineEnded = false

  push(chunk: Buffer): void {
    const length = chunk.length
    if (length === 0) return
    // The previous chunk finished a line: this one starts a new one.
    if (this.lineEnded) this.reset()
    const lastBreak = length > 1 ? chunk.lastIndexOf(newline, length - 2) : -1
    if (lastBreak >= 0) {
      this.reset()
      chunk = chunk.subarray(lastBreak + 1)
    }
    this.pieces.push(chunk)
    this.bytes += chunk.length
    this.lineEnded = chunk[chunk.length - 1] === newline
    while (this.bytes > maxLineBytes && this.pieces.length > 1) this.bytes -= this.pieces.shift()!.length
  }

  /** Reads the metrics of the last line; fields Ollama did not send stay undefined. */
  finish(): OllamaUsage {
    const line = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.bytes)
    this.pieces = []
    this.reset()
    return readUsage(line)
  }

  private reset(): void {
    this.pieces.length = 0
    this.bytes = 0
    this.lineEnded = false
  }
}

/**
 * Reads fields by key from the last line. A quote inside a JSON string is always escaped, so `"key":` can only be a
 * key; the metrics come after `message`/`response` in Ollama's field order, so the last occurrence is the top-level one.
 */
export function readUsage(line: Buffer): OllamaUsage {
  const text = line.toString('latin1')
  const error = text.trimStart().startsWith('{"error"') ? readString(text, 'error') : undefined
  return {
    promptTokens: readNumber(text, 'prompt_eval_count'),
    completionTokens: readNumber(text, 'eval_count'),
    doneReason: readString(text, 'done_reason'),
    totalDurationNs: readNumber(text, 'total_duration'),
    loadDurationNs: readNumber(text, 'load_duration'),
    promptEvalDurationNs: readNumber(text, 'prompt_eval_duration'),
    evalDurationNs: readNumber(text, 'eval_duration'),
    error,
  }
}

function valueStart(text: string, key: string): number {
  const at = text.lastIndexOf(`"${key}"`)
  if (at < 0) return -1
  let index = at + key.length + 2
  while (text.charCodeAt(index) === 0x20) index++
  if (text.charCodeAt(index) !== 0x3a) return -1 // ':'
  index++
  while (text.charCodeAt(index) === 0x20) index++
  return index
}

function readNumber(text: string, key: string): number | undefined {
  const start = valueStart(text, key)
  if (start < 0) return undefined
  let end = start
  while (end < text.length && /[0-9.eE+-]/.test(text[end]!)) end++
  const value = Number(text.slice(start, end))
  return end > start && Number.isFinite(value) ? value : undefined
}

function readString(text: string, key: string): string | undefined {
  const start = valueStart(text, key)
  if (start < 0 || text[start] !== '"') return undefined
  let end = start + 1
  while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
  if (end >= text.length) return undefined
  try {
    return JSON.parse(Buffer.from(text.slice(start, end + 1), 'latin1').toString('utf8')) as string
  } catch {
    return undefined
  }
}
