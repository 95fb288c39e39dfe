// A signature is accepted once, whatever a reload does to auth.signature_skew meanwhile. Found by the attack review:
// the replay cache kept each signature only as long as the skew at the time it was checked, so a reload that widened
// the skew made every signature forgotten under the old window valid again, and it could be replayed.
import fc from 'fast-check'
import t from 'tap'
import { signedText, signText, SignatureVerifier } from '../../src/auth/requestSignature.js'

const secret = Buffer.from('pls_test-secret')
const second = 1000

function signed(timestamp: number) {
  const ts = String(timestamp)
  const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
  return {
    request: {
      method: 'GET',
      path: '/api/tags',
      query: '',
      signatureTimestamp: ts,
      signature: signText(secret, signedText('GET', '/api/tags', ts, empty)).toString('hex'),
    },
    body: empty,
  }
}

t.test('a skew widened by a reload does not bring a seen signature back', async (t) => {
  let now = 1_764_640_000 * second
  let skew = 5 * second
  const verifier = new SignatureVerifier(
    () => skew,
    1000,
    () => now,
  )
  const { request, body } = signed(now / second)
  t.equal(verifier.check(secret, request, body), undefined, 'first use')
  now += 6 * second
  skew = 60 * second
  t.match(verifier.check(secret, request, body), { code: /signature_(replayed|expired)/ }, 'the replay is refused')
})

t.test('whatever the skews over time, each signature is accepted at most once', async () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ wait: fc.nat(120), skew: fc.integer({ min: 1, max: 120 }) }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.integer({ min: 1, max: 120 }),
      (steps, startSkew) => {
        let now = 1_764_640_000 * second
        let skew = startSkew * second
        const verifier = new SignatureVerifier(
          () => skew,
          1000,
          () => now,
        )
        const { request, body } = signed(now / second)
        let accepted = verifier.check(secret, request, body) === undefined ? 1 : 0
        for (const step of steps) {
          now += step.wait * second
          skew = step.skew * second
          if (verifier.check(secret, request, body) === undefined) accepted++
        }
        return accepted <= 1
      },
    ),
  )
})
