// The tap for Server-Sent Event streams from Ollama's /v1 (OpenAI chat and completions, Responses, Anthropic
// messages). Events pass through as they arrive; only an event that carries usage or an error is parsed, to read the
// counts — and, when the client did not ask for usage, to drop OpenAI's extra `choices: []` usage chunk and the
// per-chunk zero usage of legacy completions, so the client sees exactly what OpenAI would have sent it.
import { countsOf, type ResponseTap } from './responseTap.js'
import type { OllamaUsage } from './usageSniffer.js'

export interface SseTapOptions {
  /** The client did not ask for usage: remove what the gateway's include_usage added. */
  stripUsage: boolean
  /** The model as Ollama names it and as the client named it (an alias), to show the client its own name. */
  rename?: { from: string; to: string }
}

const eventEnd = Buffer.from('\n\n')
const usageKey = Buffer.from('"usage"')
const errorKey = Buffer.from('"error"')

export class SseTap implements ResponseTap {
  /** The start of an event not yet complete. */
  private held: Buffer | undefined
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
    const data = this.held ? Buffer.concat([this.held, chunk]) : chunk
    this.held = undefined
    const end = data.lastIndexOf(eventEnd)
    if (end < 0) {
      this.held = data
      return undefined
    }
    const completeLength = end + eventEnd.length
    if (completeLength < data.length) this.held = data.subarray(completeLength)
    return this.events(completeLength === data.length ? data : data.subarray(0, completeLength))
  }

  end(): Buffer | undefined {
    // A stream that stopped mid-event: pass on what there is (the client's parser decides what it means).
    const rest = this.held
    this.held = undefined
    return rest
  }

  usage(): OllamaUsage | undefined {
    return this.counts
  }

  /** Whole events: unchanged unless one carries usage or an error, or the model needs renaming. */
  private events(complete: Buffer): Buffer | undefined {
    if (!this.rename && complete.indexOf(usageKey) < 0 && complete.indexOf(errorKey) < 0) return complete
    let out = ''
    for (const event of complete.toString('utf8').split('\n\n')) {
      if (event === '') continue
      const kept = this.event(event)
      if (kept !== undefined) out += kept + '\n\n'
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
    if (value.error !== undefined && value.error !== null) {
      this.counts = { ...countsOf({}, this.counts)!, error: String(value.error?.message ?? value.error) }
      return payload
    }
    // OpenAI puts usage on the chunk, Responses on the response, Anthropic on the message (start) or the delta.
    this.counts = countsOf(value.usage ?? value.response?.usage ?? value.message?.usage, this.counts)
    if (!this.options.stripUsage || value.usage === undefined || !Array.isArray(value.choices)) return payload
    if (value.choices.length === 0) return undefined
    delete value.usage
    return JSON.stringify(value)
  }
}
