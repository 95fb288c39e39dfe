// The tap for whole JSON replies on the OpenAI routes: counts from the `usage` object (at the end of the reply, so only
// the tail is kept), and — only when the reply must change (an alias to show, a list to filter, an error code to
// complete) — the whole body held and rewritten at the end.
import { countsOf, type ResponseTap } from './responseTap.js'
import type { OllamaUsage } from './usageSniffer.js'

/** Changes a parsed reply; returns the value to send. */
export type JsonRewrite = (reply: any) => unknown

/** The usage object is the last field of OpenAI's replies; this much of the end is enough to hold it. */
const tailBytes = 4096

export class JsonTap implements ResponseTap {
  private pieces: Buffer[] = []
  private bytes = 0
  private counts: OllamaUsage | undefined

  /** `rewrite`: hold the whole body and send it changed (undefined: pass every byte through). */
  constructor(private readonly rewrite?: JsonRewrite) {}

  push(chunk: Buffer): Buffer | undefined {
    this.pieces.push(chunk)
    this.bytes += chunk.length
    if (this.rewrite) return undefined
    while (this.pieces.length > 1 && this.bytes - this.pieces[0]!.length >= tailBytes) {
      this.bytes -= this.pieces.shift()!.length
    }
    return chunk
  }

  end(): Buffer | undefined {
    const body = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.bytes)
    this.pieces = []
    if (!this.rewrite) {
      this.counts = usageInTail(body.toString('utf8', Math.max(0, body.length - tailBytes)))
      return undefined
    }
    let reply: unknown
    try {
      reply = JSON.parse(body.toString('utf8'))
    } catch {
      return body // Not JSON after all: the client gets it as it came.
    }
    this.counts = countsOf((reply as { usage?: unknown } | null)?.usage)
    return Buffer.from(JSON.stringify(this.rewrite(reply)))
  }

  usage(): OllamaUsage | undefined {
    return this.counts
  }
}

/** The counts of the last `"usage":{...}` in a tail of JSON text. */
function usageInTail(text: string): OllamaUsage | undefined {
  const at = text.lastIndexOf('"usage"')
  if (at < 0) return undefined
  const usage: Record<string, number> = {}
  for (const match of text
    .slice(at)
    .matchAll(/"(prompt_tokens|completion_tokens|input_tokens|output_tokens)"\s*:\s*(\d+)/g)) {
    usage[match[1]!] ??= Number(match[2])
  }
  return countsOf(usage)
}
