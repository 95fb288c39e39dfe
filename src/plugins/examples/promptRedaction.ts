// Example plugin: redacts email addresses (and any patterns from its options) from what a request asks a model, on
// both APIs: the native prompt, system and chat messages, and /v1's messages, prompt, input and instructions, in
// plain strings and in content parts. A body with nothing to redact goes on untouched (no rewrite). Config:
// `{ module: /usr/lib/parallama/dist/src/plugins/examples/promptRedaction.js,
//    options: { patterns: ['\\b\\d{3}-\\d{2}-\\d{4}\\b'], replacement: '[redacted]' } }`.
import type { Plugin, PluginFactory } from '../plugin.js'

/** Fields whose strings are text for the model (anywhere in the body: messages, content parts, input items). */
const textKeys = new Set(['prompt', 'system', 'content', 'text', 'input', 'instructions', 'suffix'])
const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g

const createPromptRedaction: PluginFactory = (options) => {
  const patterns = [email]
  if (options.emails === false) patterns.length = 0
  for (const source of Array.isArray(options.patterns) ? options.patterns : []) {
    patterns.push(new RegExp(String(source), 'g'))
  }
  const replacement = typeof options.replacement === 'string' ? options.replacement : '[redacted]'
  const redact = (text: string): string =>
    patterns.reduce((result, pattern) => result.replace(pattern, replacement), text)
  /** Redacts in place; true when something changed. */
  const walk = (value: unknown, underText: boolean): boolean => {
    let changed = false
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (underText && typeof value[i] === 'string') {
          const next = redact(value[i] as string)
          if (next !== value[i]) {
            value[i] = next
            changed = true
          }
        } else if (walk(value[i], underText)) changed = true
      }
      return changed
    }
    if (!value || typeof value !== 'object') return false
    const entries = value as Record<string, unknown>
    for (const key of Object.keys(entries)) {
      const text = textKeys.has(key)
      const item = entries[key]
      if (text && typeof item === 'string') {
        const next = redact(item)
        if (next !== item) {
          entries[key] = next
          changed = true
        }
      } else if (walk(item, text)) changed = true
    }
    return changed
  }
  const plugin: Plugin = {
    name: 'prompt-redaction',
    onRequest(request) {
      if (patterns.length === 0) return undefined
      // A cheap test on the bytes first: most bodies have nothing to redact and are never parsed.
      const raw = request.body.toString('utf8')
      if (!patterns.some((pattern) => ((pattern.lastIndex = 0), pattern.test(raw)))) return undefined
      const body = request.json()
      return walk(body, false) ? { rewrite: { body } } : undefined
    },
  }
  return plugin
}

export default createPromptRedaction
