// Compliance checks about how the gateway is deployed rather than what the database holds: TLS on the port (or a
// reason to expect a proxy in front), and the dependency audit that shipped with this build (rpm/build.sh records
// `.ci/auditCheck.js --record` as dist/dependency-audit.json).
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Config } from '../config/schema.js'
import { tlsEnabled } from '../http/tls.js'
import { everyAddressRange, splitRanges } from '../limits/addressList.js'
import type { ComplianceCheck } from './compliance.js'

const day = 86_400_000
/** Where the build's audit record lies: dist/dependency-audit.json, beside dist/src. */
export const dependencyAuditFile = fileURLToPath(new URL('../../dependency-audit.json', import.meta.url))

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost'])

export function tlsCheck(config: Config, now: number): ComplianceCheck {
  const { host, tls } = config.server
  const base = { id: 'tls', title: 'TLS', items: [] as string[] }
  if (!tlsEnabled(tls)) {
    const local = loopbackHosts.has(host) || host.startsWith('127.')
    return {
      ...base,
      status: local ? 'pass' : 'warn',
      detail: local
        ? `Plain HTTP on ${host}: only this machine (or a proxy on it) can connect.`
        : `Plain HTTP on ${host}: keys, passwords and prompts cross the network in clear unless a proxy in front terminates TLS.`,
      action: local ? null : 'Set server.tls.cert_file and key_file, or make sure only a TLS proxy can reach the port.',
    }
  }
  let validTo: number
  try {
    validTo = Date.parse(new X509Certificate(readFileSync(tls.cert_file)).validTo)
  } catch (error) {
    return {
      ...base,
      status: 'warn',
      detail: `TLS is on, but ${tls.cert_file} could not be read here (${(error as Error).message}).`,
      action: 'Run the report as the service user (or root) to check the certificate.',
    }
  }
  const daysLeft = Math.floor((validTo - now) / day)
  const status = daysLeft < 0 ? 'fail' : daysLeft < 21 ? 'warn' : 'pass'
  return {
    ...base,
    status,
    detail:
      daysLeft < 0
        ? `The certificate in ${tls.cert_file} expired ${-daysLeft} days ago.`
        : `TLS 1.2+ on the port; the certificate expires in ${daysLeft} days${tls.hsts > 0 ? ', HSTS on' : ''}.`,
    action: status === 'pass' ? null : 'Renew the certificate, then reload (systemctl reload parallama).',
  }
}

interface AuditRecord {
  checked_at: string
  status: 'clean' | 'vulnerable' | 'not_run'
  findings: { package: string; severity: string; url: string }[]
  accepted: { package: string; until: string }[]
  reason: string | null
}

/** The build's dependency audit; `file` is where the record lies (tests plant one). */
export function dependencyAuditCheck(now: number, file = dependencyAuditFile): ComplianceCheck {
  const base = { id: 'dependency_audit', title: 'Dependency audit', items: [] as string[] }
  let record: AuditRecord
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as AuditRecord
  } catch {
    return {
      ...base,
      status: 'warn',
      detail: 'No dependency audit came with this build (built from source, not by rpm/build.sh).',
      action: 'Run node .ci/auditCheck.js in the source tree this build came from.',
    }
  }
  const age = Math.floor((now - Date.parse(record.checked_at)) / day)
  if (record.status === 'vulnerable') {
    return {
      ...base,
      status: 'fail',
      detail: `The build's audit (${record.checked_at}) found ${record.findings.length} high or critical advisories in production dependencies.`,
      action: 'Upgrade to a build without them.',
      items: record.findings.map((finding) => `${finding.package} (${finding.severity}): ${finding.url}`),
    }
  }
  if (record.status === 'not_run') {
    return {
      ...base,
      status: 'warn',
      detail: `The build's audit could not run (${record.reason ?? 'no reason given'}): nothing was checked.`,
      action: 'Audit the lockfile of this release where the npm audit service is reachable.',
    }
  }
  return {
    ...base,
    status: age > 30 ? 'warn' : 'pass',
    detail: `No unaccepted high or critical advisory when built, ${age} days ago${record.accepted.length > 0 ? ` (${record.accepted.length} accepted)` : ''}.`,
    action: age > 30 ? 'Advisories appear after a build: audit again, or upgrade to a newer build.' : null,
    items: record.accepted.map((entry) => `${entry.package}: accepted until ${entry.until}`),
  }
}

export function trustedProxiesCheck(config: Config): ComplianceCheck {
  const { trusted_proxies: trusted, forwarded_header: header, allow_ip: allowIp } = config.server
  const ranges = splitRanges(trusted)
  const base = { id: 'trusted_proxies', title: 'Trusted proxies and client addresses', items: ranges }
  const gate = allowIp === '' ? 'every address may connect' : `only ${allowIp} may connect (server.allow_ip)`
  if (ranges.some(everyAddressRange)) {
    return {
      ...base,
      status: 'fail',
      detail: `server.trusted_proxies takes in every address: any client can name its own address in ${header}, past address limits and allow-lists.`,
      action: 'List only the addresses of your own proxies or load balancers.',
    }
  }
  return {
    ...base,
    status: 'pass',
    detail:
      ranges.length === 0
        ? `No proxy is trusted: forwarding headers are ignored and each client is its peer address; ${gate}.`
        : `${header} is believed from ${ranges.length} range(s) only; ${gate}.`,
    action: null,
  }
}
