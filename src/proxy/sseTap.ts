// The tap for Server-Sent Event streams from Ollama's /v1 (OpenAI chat and completions, Responses, Anthropic
// messages). Events pass through as they arrive; only an event that carries usage or an error is parsed, to read the
// counts — and, when the client did not ask for usage, to drop OpenAI's extra `choices: []` usage chunk and the
// per-chunk zero usage of legacy completions, so the client sees exactly what OpenAI would have sent it.
// What it holds is bounded: an event larger than `maxEventBytes` is passed through as it comes, neither held nor parsed.
import { countsOf, type ResponseTap } from './responseTap.js'
import type { OllamaUsage } from './usageSniffer.js'

export interface SseTapOptions {
  /** The client did not ask for usage: remove what the gateway's include_usage added. */
  stripUsage: boolean
  /** The model as Ollama names it and as the client named it (an alias), to show the client its own name. */
  rename?: { from: string; to: string }
}

/**
 * The largest event held whole (to be read, stripped or renamed). A larger one (a backend's fault, or one huge tool
 * call) goes to the client unchanged as its bytes arrive: its counts, if it had any, are unknown, and the alias is not
 * put into it. Usage events are small, so the counts of a normal stream are still read.
 */
export const maxEventBytes = 1024 * 1024

const eventEnd = Buffer.from('\n\n')
const newline = 0x0a
const usageKey = Buffer.from('"usage"')
const errorKey = Buffer.from('"error"')
/** An error message kept for the usage record is cut to this. */
const maxErrorText = 1024

export class SseTap implements ResponseTap {
  /** The start of an event not yet complete (never more than maxEventBytes). */
  private held: Buffer[] = []
  private heldBytes = 0
  /** Inside an event too large to hold: its bytes pass until it ends. */
  private passing = false
  /** The last byte seen was a newline (an event's end may straddle two chunks). */
  private endsInNewline = false
  private counts: OllamaUsage | undefined
  private readonly rename: { from: string; to: string } | undefined

  constructor(private readonly options: SseTapOptions) {
    const rename = options.rename
    this.rename = rename && {
      from: `"model":${JSON.stringify(rename.from)}`,
      to: `"model":${JSON.stringify(rename.to)}`,
    }
  }

  push(chunk: Buffer): Buffer | undefined {
    if (chunk.length === 0) return undefined
    const out = this.take(chunk)
    // Only an unfinished event's last newline can pair with the next chunk's first.
    this.endsInNewline = (this.passing || this.heldBytes > 0) && chunk[chunk.length - 1] === newline
    return out
  }

  private take(chunk: Buffer): Buffer | undefined {
    // Where the last complete event in this chunk ends (0: none ends here); only this chunk is searched.
    const last = chunk.lastIndexOf(eventEnd)
    const straddles = this.endsInNewline && chunk[0] === newline
    const cut = last >= 0 ? last + eventEnd.length : straddles ? 1 : 0
    if (this.passing) {
      if (cut === 0) return chunk
      // The huge event ends in this chunk: its rest passes; what follows is read as usual.
      this.passing = false
      const first = this.firstEnd(chunk, straddles)
      const after = this.push2(chunk.subarray(first), cut - first)
      return after === undefined ? chunk.subarray(0, first) : Buffer.concat([chunk.subarray(0, first), after])
    }
    return this.push2(chunk, cut)
  }

  end(): Buffer | undefined {
    // A stream that stopped mid-event: pass on what there is (the client's parser decides what it means).
    if (this.held.length === 0) return undefined
    const rest = Buffer.concat(this.held, this.heldBytes)
    this.held = []
    this.heldBytes = 0
    return rest
  }

  usage(): OllamaUsage | undefined {
    return this.counts
  }

  /** Where the first event ending in this chunk ends (after its blank line). */
  private firstEnd(chunk: Buffer, straddles: boolean): number {
    return straddles ? 1 : chunk.indexOf(eventEnd) + eventEnd.length
  }

  /** A chunk outside a passing event; `cut`: the length of its part that completes events (0: none). */
  private push2(chunk: Buffer, cut: number): Buffer | undefined {
    if (cut === 0) {
      this.held.push(chunk)
      this.heldBytes += chunk.length
      if (this.heldBytes <= maxEventBytes) return undefined
      // Too large to hold: what is held goes now, the rest of the event as it comes.
      this.passing = true
      const start = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes)
      this.held = []
      this.heldBytes = 0
      return start
    }
    let complete = chunk.subarray(0, cut)
    if (this.held.length > 0) {
      this.held.push(complete)
      complete = Buffer.concat(this.held, this.heldBytes + cut)
      this.held = []
      this.heldBytes = 0
    }
    if (cut < chunk.length) {
      this.held.push(chunk.subarray(cut))
      this.heldBytes = chunk.length - cut
      // A rest that is already too large passes at once (the next chunk continues it).
      if (this.heldBytes > maxEventBytes) {
        this.passing = true
        const out = this.events(complete)
        const rest = this.held[0]!
        this.held = []
        this.heldBytes = 0
        return out === undefined ? rest : Buffer.concat([out, rest])
      }
    }
    return this.events(complete)
  }

  /** Whole events: unchanged unless one carries usage or an error, or the model needs renaming. */
  private events(complete: Buffer): Buffer | undefined {
    if (!this.rename && complete.indexOf(usageKey) < 0 && complete.indexOf(errorKey) < 0) return complete
    let out = ''
    let at = 0
    while (at < complete.length) {
      let end = complete.indexOf(eventEnd, at)
      end = end < 0 ? complete.length : end
      if (end > at) {
        // An event too large to read passes as it is.
        const kept =
          end - at > maxEventBytes ? complete.toString('utf8', at, end) : this.event(complete.toString('utf8', at, end))
        if (kept !== undefined) out += kept + '\n\n'
      }
      at = end + eventEnd.length
    }
    return out === '' ? undefined : Buffer.from(out)
  }

  private event(event: string): string | undefined {
    // Where the event's data line starts (after any `event:` line); -1 when it has none.
    const dataAt = event.startsWith('data:') ? 0 : event.indexOf('\ndata:') + 1 || -1
    if (dataAt >= 0) {
      const payload = event.slice(dataAt + 5).trim()
      if (payload.includes('"usage"') || payload.includes('"error"')) {
        const kept = this.read(payload)
        if (kept === undefined) return undefined
        if (kept !== payload) event = `${event.slice(0, dataAt)}data: ${kept}`
      }
    }
    return this.rename ? event.split(this.rename.from).join(this.rename.to) : event
  }

  /** Reads counts or an error from one event's JSON; returns what to send (undefined: drop the event). */
  private read(payload: string): string | undefined {
    let value: Record<string, any>
    try {
      value = JSON.parse(payload) as Record<string, any>
    } catch {
      return payload
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return payload
    if (value.error !== undefined && value.error !== null) {
      const message: unknown = value.error?.message ?? value.error
      const text = typeof message === 'string' ? message : JSON.stringify(message)
      this.counts = { ...countsOf({}, this.counts)!, error: text.slice(0, maxErrorText) }
      return payload
    }
    // Only the usage object at its place in the event counts: OpenAI's on the chunk, the Responses API's on the
    // response, Anthropic's on the message (start) or the delta. Its numbers are checked by countsOf.
    this.counts = countsOf(value.usage ?? value.response?.usage ?? value.message?.usage, this.counts)
    if (!this.options.stripUsage || value.usage === undefined || !Array.isArray(value.choices)) return payload
    if (value.choices.length === 0) return undefined
    delete value.usage
    return JSON.stringify(value)
  }
}
