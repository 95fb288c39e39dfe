// The tap for whole JSON replies on the OpenAI routes: counts from the top-level `usage` object, read by a structural
// scanner as the bytes pass (nothing kept, a model's text can never look like it) — and, only when the reply must
// change (an alias to show, a list to filter, an error code to complete), the whole body held and rewritten at the
// end. What it holds is bounded by maxHeldBytes.
import { FieldTable, JsonFieldScanner, type FieldSpec } from './topLevelScan.js'
import { countsOf, type ResponseTap } from './responseTap.js'
import type { OllamaUsage } from './usageSniffer.js'

/** Changes a parsed reply; returns the value to send. */
export type JsonRewrite = (reply: any) => unknown

export interface JsonTapOptions {
  /**
   * A reply larger than maxHeldBytes cannot be rewritten. Without this, it passes unchanged (right for a change that
   * only adds comfort: an alias, an error code); with it, the reply is dropped and this value sent instead (right
   * for a change that guards something: a filtered model list fails closed).
   */
  tooLarge?: () => unknown
}

/** The largest reply held to be rewritten (1 MiB): parsing it costs a few ms at most. */
export const maxHeldBytes = 1024 * 1024

const usageFields: FieldSpec[] = [
  { name: 'prompt_tokens', kind: 'count' },
  { name: 'completion_tokens', kind: 'count' },
  { name: 'input_tokens', kind: 'count' },
  { name: 'output_tokens', kind: 'count' },
]

const table = new FieldTable({ fields: [], nested: { key: 'usage', fields: usageFields }, lines: false })

export class JsonTap implements ResponseTap {
  private readonly scanner = new JsonFieldScanner(table)
  private held: Buffer[] | undefined
  private heldBytes = 0
  /** Past the bound with `tooLarge`: everything is dropped and the replacement sent at the end. */
  private dropping = false
  private counts: OllamaUsage | undefined

  /** `rewrite`: hold the whole body and send it changed (undefined: pass every byte through). */
  constructor(
    private readonly rewrite?: JsonRewrite,
    private readonly options: JsonTapOptions = {},
  ) {
    if (rewrite) this.held = []
  }

  push(chunk: Buffer): Buffer | undefined {
    this.scanner.push(chunk)
    if (this.dropping) return undefined
    const held = this.held
    if (!held) return chunk
    held.push(chunk)
    this.heldBytes += chunk.length
    if (this.heldBytes <= maxHeldBytes) return undefined
    // Too large to rewrite: fail closed (send the replacement at the end) or pass through from here on.
    this.held = undefined
    if (this.options.tooLarge) {
      this.dropping = true
      return undefined
    }
    return Buffer.concat(held, this.heldBytes)
  }

  end(): Buffer | undefined {
    this.scanner.finish()
    const held = this.held
    this.held = undefined
    if (this.dropping) {
      this.counts = this.scannedCounts()
      return Buffer.from(JSON.stringify(this.options.tooLarge!()))
    }
    if (!held || !this.rewrite) {
      this.counts = this.scannedCounts()
      return undefined
    }
    const body = held.length === 1 ? held[0]! : Buffer.concat(held, this.heldBytes)
    let reply: unknown
    try {
      reply = JSON.parse(body.toString('utf8'))
    } catch {
      this.counts = this.scannedCounts()
      return body // Not JSON after all: the client gets it as it came.
    }
    this.counts = countsOf((reply as { usage?: unknown } | null)?.usage)
    return Buffer.from(JSON.stringify(this.rewrite(reply)))
  }

  usage(): OllamaUsage | undefined {
    return this.counts
  }

  /** The counts the scanner read from the top-level usage object, if the reply had one. */
  private scannedCounts(): OllamaUsage | undefined {
    const scanner = this.scanner
    const usage: Record<string, number> = {}
    let any = false
    for (let slot = 0; slot < usageFields.length; slot++) {
      const value = scanner.count(slot)
      if (value !== undefined) {
        usage[usageFields[slot]!.name] = value
        any = true
      }
    }
    return any ? countsOf(usage) : undefined
  }
}
