// A model of which request heads must be refused, written plainly from RFC 9112 §6 and RFC 9110 §5 (not from the
// code under test), shared by the pure and the gateway-level properties.
import { presentedCredential } from '../../src/auth/credentials.js'

/** Headers the gateway never forwards (hop-by-hop, framing, the client's credentials). */
export const dropped = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'authorization',
  'x-api-key',
  'cookie',
  'x-request-id',
])

/** Whether a head (lower-cased names, as uWS reports them) must be refused. */
export function mustRefuse(lines: [string, string][]): boolean {
  const all = (wanted: string) => lines.filter(([n]) => n === wanted).map(([, v]) => v)
  const ows = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, '')
  const lengths = all('content-length')
  const encodings = all('transfer-encoding')
  const authorizations = all('authorization')
  const keys = all('x-api-key')
  for (const [n, v] of lines) {
    // A control byte: below SP except HTAB, or DEL (RFC 9110 §5.5).
    if ([...v].some((c) => (c < ' ' && c !== '\t') || c === '\x7f')) return true
    if (!dropped.has(n) && (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(n) || /[^\t\x20-\x7e]/.test(v))) return true
  }
  if (lengths.length > 1 || encodings.length > 1) return true
  if (lengths.length === 1 && !/^[0-9]{1,15}$/.test(ows(lengths[0]!))) return true
  if (encodings.length === 1 && ows(encodings[0]!).toLowerCase() !== 'chunked') return true
  if (lengths.length === 1 && encodings.length === 1) return true
  if (authorizations.length > 1 || keys.length > 1) return true
  return (
    authorizations.length === 1 && keys.length === 1 && presentedCredential(authorizations[0]!, '') !== keys[0]!.trim()
  )
}
