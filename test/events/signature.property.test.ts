// Signing: for any payload, id, timestamp and secret, the signature the gateway sends verifies with an independent
// implementation of the spec's verification, and changing any byte of what was signed makes it fail.
import fc from 'fast-check'
import t from 'tap'
import { checkSecret, newSecret, sign } from '../../src/events/signature.js'
import { holds } from '../helpers/fuzz.js'
import { verifyDelivery } from '../helpers/webhookReceiver.js'

const secrets = fc
  .uint8Array({ minLength: 24, maxLength: 64 })
  .map((bytes) => 'whsec_' + Buffer.from(bytes).toString('base64'))
const ids = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)
const timestamps = fc.integer({ min: 0, max: 2 ** 40 })
const bodies = fc.oneof(fc.json(), fc.string({ unit: 'grapheme' }))

function headers(id: string, timestamp: number, signature: string) {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }
}

t.test('a signature verifies; any change to the id, timestamp, body, signature or secret fails it', async (t) => {
  await holds(
    t,
    'signature verifies and any byte change fails',
    fc.asyncProperty(
      secrets,
      ids,
      timestamps,
      bodies,
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (secret, id, timestamp, body, at, flip) => {
        const signature = sign(secret, id, timestamp, body)
        if (!(await verifyDelivery(secret, headers(id, timestamp, signature), body))) return false
        // One byte of the body as received changed.
        const bytes = Buffer.from(body, 'utf8')
        if (bytes.length > 0) {
          bytes[at % bytes.length]! ^= flip
          if (await verifyDelivery(secret, headers(id, timestamp, signature), bytes)) return false
        }
        if (await verifyDelivery(secret, headers(id + 'x', timestamp, signature), body)) return false
        if (await verifyDelivery(secret, headers(id, timestamp + 1, signature), body)) return false
        const key = Buffer.from(secret.slice(6), 'base64')
        key[at % key.length]! ^= flip
        if (await verifyDelivery('whsec_' + key.toString('base64'), headers(id, timestamp, signature), body))
          return false
        const raw = Buffer.from(signature.slice(3), 'base64')
        raw[at % raw.length]! ^= flip
        return !(await verifyDelivery(secret, headers(id, timestamp, 'v1,' + raw.toString('base64')), body))
      },
    ),
    300,
  )
})

t.test('generated secrets have the spec form; a wrong one is refused with a reason', async (t) => {
  const secret = newSecret()
  t.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/)
  t.equal(checkSecret(secret), undefined)
  t.not(newSecret(), secret, 'each secret is new')
  t.match(checkSecret('hunter2'), /whsec_ followed by the base64/)
  t.match(checkSecret('whsec_' + Buffer.alloc(8).toString('base64')), /whsec_|24 to 64/)
})
