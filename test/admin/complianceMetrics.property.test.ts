// The compliance report's address checks against the lists they judge: the metrics check may pass only when /metrics
// is readable from loopback alone and must fail when anyone may read it; the trusted-proxies check must fail on a list
// that takes in every address. Found by the attack review: `127.0.0.1/0` (every address, written from a loopback
// address) passed as "loopback only", and `10.0.0.0/0` as a trusted proxy passed, because the checks looked at how
// the text began or matched three spellings of "everyone".
import fc from 'fast-check'
import t from 'tap'
import { complianceReport, type ComplianceFacts } from '../../src/admin/compliance.js'
import { trustedProxiesCheck } from '../../src/admin/deploymentChecks.js'
import { configFrom } from '../../src/config/load.js'
import { AddressList, splitRanges } from '../../src/limits/addressList.js'

function metricsStatus(allowFrom: string) {
  const facts: ComplianceFacts = {
    now: Date.UTC(2026, 11, 1),
    config: configFrom({ metrics: { allow_from: allowFrom } }),
    users: [],
    keys: [],
    ssoUsers: new Set(),
    ssoConfigured: false,
    newestBackupAt: null,
    extra: [],
  }
  return complianceReport(facts).checks.find((check) => check.id === 'metrics')!.status
}

/** Addresses that are not loopback, across the IPv4 and IPv6 spaces. */
const outside = ['1.2.3.4', '126.255.255.255', '128.0.0.1', '200.1.1.1', '2001:db8::1', '::2', 'fe80::1']

t.test('a range that reaches beyond loopback never passes; one that reaches everyone fails', async (t) => {
  t.equal(metricsStatus('127.0.0.1/32,::1/128'), 'pass')
  t.equal(metricsStatus('127.0.0.0/8'), 'pass')
  t.equal(metricsStatus('127.0.0.1/0'), 'fail', 'every address, written from a loopback one')
  t.equal(metricsStatus('::1/0'), 'fail')
  t.not(metricsStatus('127.0.0.0/1'), 'pass', 'half of IPv4')
  t.not(metricsStatus('::1/64'), 'pass')
  t.not(metricsStatus('::ffff:127.0.0.1/96'), 'pass', 'every IPv4 address, mapped')
})

t.test('passes exactly when no non-loopback address is admitted (generated IPv4 ranges)', async () => {
  const range = fc
    .tuple(fc.constantFrom(127, 127, 127, 0, 10, 126, 128, 255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(32))
    .map(([a, b, c, d, prefix]) => `${a}.${b}.${c}.${d}/${prefix}`)
  fc.assert(
    fc.property(fc.array(range, { minLength: 1, maxLength: 3 }), (ranges) => {
      const text = ranges.join(',')
      const list = AddressList.of(splitRanges(text))
      const reachesOut = outside.some((address) => list.has(address))
      const status = metricsStatus(text)
      return reachesOut ? status !== 'pass' : true
    }),
    { numRuns: 500 },
  )
})

t.test('a trusted-proxy list that takes in every address fails however it is written', async (t) => {
  const status = (ranges: string) => trustedProxiesCheck(configFrom({ server: { trusted_proxies: ranges } })).status
  t.equal(status('10.0.0.5/32'), 'pass')
  t.equal(status('0.0.0.0/0'), 'fail')
  t.equal(status('10.0.0.0/0'), 'fail', 'a /0 is everyone, whatever address it is written from')
  t.equal(status('10.0.0.5, 2001:db8::/0'), 'fail')
  t.equal(status('::ffff:1.2.3.4/96'), 'fail', 'the whole IPv4-mapped block')
})
