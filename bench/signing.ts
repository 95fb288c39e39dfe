// `npm run bench:signing`: what a signed request costs the gateway, in-process (µs are below the noise of an end-to-end
// run): the body's SHA-256 (which depends on the body's size) and, beside it, the signature check itself (the HMAC of
// ~150 bytes, the timing-safe compare, the replay cache). The goal: the check ≤ 3 µs beside the body hash. Also the
// allow-list and trusted-proxy checks a request pays when they are configured.
import { createHmac, hash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { bodySha256Hex, SignatureVerifier } from '../src/auth/requestSignature.js'
import { clientAddress } from '../src/http/clientAddress.js'
import { AddressList } from '../src/limits/addressList.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '300000' } } })
const rounds = Number(values.rounds)

/** Mean µs per call of `work` over `rounds` calls, after a warm-up. */
function measure(count: number, work: (round: number) => void): number {
  for (let i = 0; i < Math.min(count, 10_000); i++) work(i)
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) work(i)
  return Number(process.hrtime.bigint() - start) / 1000 / count
}

const secret = 'pls_' + 'x'.repeat(43)
const key = Buffer.from(secret)
const now = Date.now()
const timestamp = String(Math.floor(now / 1000))
const bodyHex = hash('sha256', 'bench', 'hex')

// Every request distinct (the replay cache would refuse a repeat): the path carries the round's number. The signatures
// are made before the clock starts, so only the gateway's side is measured.
const requests = Array.from({ length: rounds + 10_000 }, (_, round) => {
  const path = `/api/generate/${round}`
  const text = `POST\n${path}\n${timestamp}\n${bodyHex}`
  return {
    method: 'POST',
    path,
    query: '',
    signatureTimestamp: timestamp,
    signature: createHmac('sha256', secret).update(text).digest('hex'),
  }
})

const results: Record<string, number> = {}
// A fresh verifier for the timed run (the warm-up filled the first one's cache with the same signatures).
let verifier = new SignatureVerifier(
  () => 300_000,
  2 * requests.length,
  () => now,
)
for (let i = 0; i < 10_000; i++) verifier.check(key, requests[i + rounds]!, bodyHex)
verifier = new SignatureVerifier(
  () => 300_000,
  2 * requests.length,
  () => now,
)
let refused = 0
const start = process.hrtime.bigint()
for (let i = 0; i < rounds; i++) if (verifier.check(key, requests[i]!, bodyHex)) refused++
results['signature check (HMAC + compare + replay cache)'] = Number(process.hrtime.bigint() - start) / 1000 / rounds
if (refused > 0) throw new Error(`${refused} good signatures refused`)

// For scale on a busy machine: the HMAC alone, which the check cannot do without.
const text = `POST\n/api/generate/1\n${timestamp}\n${bodyHex}`
results['HMAC-SHA256 alone (createHmac)'] = measure(rounds, () => createHmac('sha256', key).update(text).digest())

for (const size of [0, 1024, 64 * 1024, 1024 * 1024]) {
  const body = Buffer.alloc(size, 'a')
  results[`body SHA-256, ${size} bytes`] = measure(size > 64 * 1024 ? rounds / 100 : rounds, () => bodySha256Hex(body))
}

const allowList = AddressList.of(['10.0.0.0/8', '192.168.0.0/16', '2001:db8::/32'])
results['allow-list check (3 ranges), a known client'] = measure(rounds, (i) =>
  allowList.has(i & 1 ? '10.1.2.3' : '203.0.113.9'),
)
// Addresses never seen before (remembered answers do not help): the native BlockList check each time.
const fresh = Array.from({ length: rounds + 20_000 }, (_, i) => `2001:db8:${(i >> 16) & 0xffff}:${i & 0xffff}::1`)
let next = 0
results['allow-list check (3 ranges), a new address'] = measure(rounds, () => allowList.has(fresh[next++]!))
const trusted = { has: (address: string) => allowList.has(address), header: 'x-forwarded-for' as const }
const chain = { forwarded: '', forwardedFor: '203.0.113.9, 10.0.0.2' }
results['client address behind 2 trusted hops'] = measure(rounds, () => clientAddress('10.0.0.1', chain, trusted))

const width = Math.max(...Object.keys(results).map((name) => name.length))
for (const [name, us] of Object.entries(results)) process.stdout.write(`${name.padEnd(width)}  ${us.toFixed(3)} µs\n`)
process.stdout.write(`${JSON.stringify({ node: process.version, rounds, results })}\n`)
