// Turns tokens into cost: per-model prices per million tokens from the config (exact names or family:* patterns,
// first match wins), else the default price. Lookups are cached per model name.
import { compileAllowList } from '../auth/modelAllowList.js'
import type { Config } from '../config/schema.js'

interface Price {
  prompt: number
  completion: number
}

export class Pricing {
  private readonly rules: { matches: (model: string) => boolean; price: Price }[]
  private readonly fallback: Price
  private readonly cache = new Map<string, Price>()

  constructor(usage: Config['usage']) {
    this.rules = usage.prices.map((entry) => ({
      matches: compileAllowList([entry.model]),
      price: { prompt: entry.prompt, completion: entry.completion },
    }))
    this.fallback = { prompt: usage.default_prompt_price, completion: usage.default_completion_price }
  }

  priceOf(model: string): Price {
    let price = this.cache.get(model)
    if (!price) {
      price = this.rules.find((rule) => rule.matches(model))?.price ?? this.fallback
      if (this.cache.size < 10_000) this.cache.set(model, price)
    }
    return price
  }

  costOf(model: string | null, promptTokens: number | null, completionTokens: number | null): number {
    if (model === null) return 0
    const price = this.priceOf(model)
    return ((promptTokens ?? 0) * price.prompt + (completionTokens ?? 0) * price.completion) / 1_000_000
  }

  /** Whether any price is set (cost headers are only sent then). */
  get enabled(): boolean {
    return this.rules.length > 0 || this.fallback.prompt > 0 || this.fallback.completion > 0
  }
}
