// Standard Webhooks signing (standardwebhooks.com): the secret is `whsec_` + base64 of random bytes; a delivery
// carries webhook-id, webhook-timestamp (unix seconds) and webhook-signature `v1,<base64 HMAC-SHA256 of
// "id.timestamp.body">` keyed with the secret's decoded bytes.
import { createHmac, randomBytes } from 'node:crypto'

const prefix = 'whsec_'
/** 24 to 64 bytes, as the spec asks of a secret. */
const secretShape = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/

export function newSecret(): string {
  return prefix + randomBytes(32).toString('base64')
}

/** A secret someone gave (a file's contents): the error says what is wrong, never echoing the secret. */
export function checkSecret(secret: string): string | undefined {
  if (!secretShape.test(secret)) return 'a webhook secret is whsec_ followed by the base64 of 24 to 64 random bytes'
  const bytes = Buffer.from(secret.slice(prefix.length), 'base64').length
  if (bytes < 24 || bytes > 64) return `a webhook secret holds 24 to 64 bytes, this one ${bytes}`
  return undefined
}

/** The secret of the subscription `alerts.webhook_url` makes: the old raw HMAC secret's bytes, in whsec_ form. */
export function secretFromRaw(raw: string): string {
  return prefix + Buffer.from(raw, 'utf8').toString('base64')
}

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret, 'base64')
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return 'v1,' + createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')
}

/** The old quota-alert header (hex HMAC of the body alone), for the alerts.webhook_url subscription only. */
export function legacySignature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secretKey(secret)).update(body).digest('hex')
}
