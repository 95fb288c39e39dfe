#!/usr/bin/env node
/* global process, console */
// The dependency audit CI runs (.ci/run): fails on a known high or critical vulnerability in a production dependency,
// naming each (package, severity, title, advisory URL), unless .ci/audit-accept.json accepts it with a reason and an
// expiry date (an expired acceptance fails again). An audit that cannot run (registry unreachable, audit endpoint
// refused) fails too, saying so: a silent pass would hide what it could not see. PARALLAMA_AUDIT_UNREACHABLE=warn
// turns that one case into a warning (an offline build box). docs/security.md "Dependency scanning" is the manual.
//
// Usage: node .ci/auditCheck.js [--audit-json FILE] [--lock FILE] [--accept FILE] [--now ISO-DATE] [--record FILE]
// Without --audit-json it runs `npm audit --omit=dev --json` in the checkout. Exit: 0 clean, 1 vulnerable or invalid
// acceptance file, 2 the audit did not run. --record writes the outcome as JSON (rpm/build.sh ships it; the
// compliance report reads it): {checked_at, status: clean|vulnerable|not_run, findings, accepted, reason}.
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const blocking = new Set(['high', 'critical'])
/** An acceptance may not run longer than this: it is a decision to revisit, not a permanent exception. */
const maxAcceptDays = 366

function option(name, fallback) {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : process.argv[at + 1]
}

/** npm audit exits non-zero when it finds anything; its JSON is on stdout either way. */
function runAudit() {
  return new Promise((resolve) => {
    execFile('npm', ['audit', '--omit=dev', '--json'], { cwd: root, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, spawnError: error && error.code === 'ENOENT' ? error : undefined }),
    )
  })
}

/** Why the report is not an audit result (registry unreachable, endpoint refused), or undefined when it is one. */
export function auditFailure(report) {
  if (report && typeof report === 'object' && report.vulnerabilities && typeof report.vulnerabilities === 'object')
    return undefined
  const error = report?.error ?? {}
  const parts = [report?.statusCode && `HTTP ${report.statusCode}`, error.code, report?.message, error.summary]
  return parts.filter(Boolean).join(': ') || 'npm audit gave no report'
}

/** Package paths in the lockfile that are installed for production (not dev-only). */
export function productionPaths(lock) {
  const paths = new Set()
  for (const [path, entry] of Object.entries(lock?.packages ?? {})) if (path !== '' && !entry.dev) paths.add(path)
  return paths
}

/**
 * The advisories that block: high or critical, on a package with at least one production install. A report made
 * without --omit=dev may list dev-only packages; the lockfile's `dev` flags leave them out here as well.
 */
export function blockingAdvisories(report, production) {
  const found = []
  for (const vulnerability of Object.values(report.vulnerabilities)) {
    const nodes = vulnerability.nodes ?? []
    if (nodes.length > 0 && !nodes.some((node) => production.has(node))) continue
    for (const via of vulnerability.via ?? []) {
      // A string names another vulnerable package: its own entry carries the advisory.
      if (typeof via !== 'object' || !blocking.has(via.severity)) continue
      found.push({ package: via.name, severity: via.severity, title: via.title, url: via.url, range: via.range })
    }
  }
  const unique = new Map(found.map((advisory) => [`${advisory.url} ${advisory.package}`, advisory]))
  return [...unique.values()].sort((a, b) => a.package.localeCompare(b.package) || a.url.localeCompare(b.url))
}

/** The acceptances, checked: each names an advisory URL and package, a reason, and an expiry within a year. */
export function readAcceptances(text, now) {
  const problems = []
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    return { accepted: [], problems: [`not JSON: ${error.message}`] }
  }
  const list = parsed?.accepted
  if (!Array.isArray(list)) return { accepted: [], problems: ['expected {"accepted": [...]}'] }
  const accepted = []
  list.forEach((entry, index) => {
    const where = `accepted[${index}]`
    const expires =
      typeof entry?.expires === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(entry.expires)
        ? Date.parse(`${entry.expires}T23:59:59.999Z`)
        : NaN
    if (typeof entry?.advisory !== 'string' || !/^https:\/\/\S+$/.test(entry.advisory))
      problems.push(`${where}.advisory: the advisory URL npm audit prints (https://github.com/advisories/GHSA-...)`)
    else if (typeof entry.package !== 'string' || entry.package === '')
      problems.push(`${where}.package: the package name the advisory is on`)
    else if (typeof entry.reason !== 'string' || entry.reason.trim().length < 10)
      problems.push(`${where}.reason: why it does not affect Parallama, or what mitigates it (a sentence)`)
    else if (Number.isNaN(expires)) problems.push(`${where}.expires: a date such as 2027-03-31`)
    else if (expires - now > maxAcceptDays * 86_400_000)
      problems.push(`${where}.expires: at most ${maxAcceptDays} days ahead`)
    else accepted.push({ ...entry, expiresAt: expires })
  })
  return { accepted, problems }
}

/** Splits the blocking advisories into those accepted now and those that fail the build (expired ones included). */
export function judge(advisories, accepted, now) {
  const failing = []
  const waived = []
  for (const advisory of advisories) {
    const acceptance = accepted.find((entry) => entry.advisory === advisory.url && entry.package === advisory.package)
    if (!acceptance) failing.push({ advisory })
    else if (acceptance.expiresAt < now) failing.push({ advisory, expired: acceptance })
    else waived.push({ advisory, acceptance })
  }
  const stale = accepted.filter(
    (entry) => !advisories.some((advisory) => advisory.url === entry.advisory && advisory.package === entry.package),
  )
  return { failing, waived, stale }
}

function describe(advisory) {
  return `${advisory.package} (${advisory.severity}): ${advisory.title} — ${advisory.url} (vulnerable ${advisory.range})`
}

/** The outcome for --record: what the compliance report shows about the build's dependencies. */
function record(now, status, fields = {}) {
  const file = option('--record', undefined)
  if (!file) return
  const outcome = {
    checked_at: new Date(now).toISOString(),
    status,
    findings: [],
    accepted: [],
    reason: null,
    ...fields,
  }
  writeFileSync(file, `${JSON.stringify(outcome, null, 2)}\n`)
}

const brief = (advisory) => ({ package: advisory.package, severity: advisory.severity, url: advisory.url })

async function main() {
  const now = Date.parse(option('--now', new Date().toISOString()))
  const acceptFile = option('--accept', join(root, '.ci', 'audit-accept.json'))
  const lockFile = option('--lock', join(root, 'package-lock.json'))
  const auditFile = option('--audit-json', undefined)

  const { accepted, problems } = readAcceptances(readFileSync(acceptFile, 'utf8'), now)
  if (problems.length > 0) {
    for (const problem of problems) console.error(`audit: ${acceptFile}: ${problem}`)
    return 1
  }
  let output
  if (auditFile) output = readFileSync(auditFile, 'utf8')
  else {
    const ran = await runAudit()
    if (ran.spawnError) {
      console.error(`audit: cannot run npm: ${ran.spawnError.message}`)
      return 2
    }
    output = ran.stdout
  }
  let report
  try {
    report = JSON.parse(output)
  } catch {
    report = { message: output.trim().split('\n')[0] }
  }
  const failure = auditFailure(report)
  if (failure !== undefined) {
    const warnOnly = process.env.PARALLAMA_AUDIT_UNREACHABLE === 'warn'
    console.error(
      `audit: ${warnOnly ? 'WARNING' : 'FAILED'}: the dependency audit did not run — the npm registry's audit ` +
        `endpoint could not be used (${failure}). Nothing was checked.` +
        (warnOnly ? ' (PARALLAMA_AUDIT_UNREACHABLE=warn)' : ' Set PARALLAMA_AUDIT_UNREACHABLE=warn on an offline box.'),
    )
    record(now, 'not_run', { reason: failure })
    return warnOnly ? 0 : 2
  }
  const production = productionPaths(JSON.parse(readFileSync(lockFile, 'utf8')))
  const { failing, waived, stale } = judge(blockingAdvisories(report, production), accepted, now)
  for (const { advisory, acceptance } of waived)
    console.log(`audit: accepted until ${acceptance.expires}: ${describe(advisory)} — ${acceptance.reason}`)
  for (const entry of stale)
    console.log(`audit: ${entry.advisory} (${entry.package}) is accepted but no longer reported: remove it`)
  for (const { advisory, expired } of failing)
    console.error(
      `audit: FAILED: ${describe(advisory)}${expired ? ` — its acceptance expired on ${expired.expires}` : ''}`,
    )
  record(now, failing.length > 0 ? 'vulnerable' : 'clean', {
    findings: failing.map(({ advisory }) => brief(advisory)),
    accepted: waived.map(({ advisory, acceptance }) => ({ ...brief(advisory), until: acceptance.expires })),
  })
  if (failing.length > 0) {
    console.error(
      `audit: ${failing.length} high or critical advisory(ies) in production dependencies: upgrade, or accept in ` +
        '.ci/audit-accept.json with a reason and an expiry (docs/security.md)',
    )
    return 1
  }
  console.log(`audit: no unaccepted high or critical advisory in production dependencies (${waived.length} accepted)`)
  return 0
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main()
