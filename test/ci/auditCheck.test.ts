// The CI dependency audit (.ci/auditCheck.js), run as CI runs it but on canned `npm audit --json` reports: a high or
// critical advisory on a production package fails naming it; an accepted one passes until its acceptance expires;
// low/moderate and dev-only advisories are ignored; an audit that could not reach the registry fails saying so.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { projectPath } from '../helpers/projectPath.js'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'parallama-audit-'))
const checker = projectPath('.ci/auditCheck.js')

const lock = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'parallama' },
    'node_modules/undici': { version: '7.1.0' },
    'node_modules/tap': { version: '21.0.0', dev: true },
    'node_modules/minimatch': { version: '3.0.4', dev: true },
  },
}

function advisory(name: string, severity: string, id: string) {
  return {
    source: 1,
    name,
    dependency: name,
    title: `${name} does something bad`,
    url: `https://github.com/advisories/${id}`,
    severity,
    range: '<7.2.0',
  }
}

function report(...entries: { name: string; severity: string; id: string; node: string }[]) {
  const vulnerabilities: Record<string, unknown> = {}
  for (const entry of entries) {
    vulnerabilities[entry.name] = {
      name: entry.name,
      severity: entry.severity,
      isDirect: true,
      via: [advisory(entry.name, entry.severity, entry.id)],
      effects: [],
      range: '<7.2.0',
      nodes: [entry.node],
      fixAvailable: true,
    }
  }
  return { auditReportVersion: 2, vulnerabilities, metadata: {} }
}

let files = 0
function file(content: unknown): string {
  const path = join(dir, `file-${++files}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

async function check(
  audit: unknown,
  accepted: unknown[] = [],
  now = '2027-01-15T12:00:00Z',
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const args = [
    checker,
    '--audit-json',
    file(audit),
    '--lock',
    file(lock),
    '--accept',
    file({ accepted }),
    '--now',
    now,
  ]
  return run(process.execPath, args, { env: { ...process.env, ...env } }).then(
    (done) => ({ code: 0, out: done.stdout, err: done.stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      out: error.stdout,
      err: error.stderr,
    }),
  )
}

const undiciHigh = { name: 'undici', severity: 'high', id: 'GHSA-aaaa-bbbb-cccc', node: 'node_modules/undici' }
const acceptance = {
  advisory: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
  package: 'undici',
  reason: 'only the client side of proxies is affected; the gateway never uses ProxyAgent',
  expires: '2027-02-01',
}

t.test('a clean report passes', async (t) => {
  const result = await check(report())
  t.equal(result.code, 0)
  t.match(result.out, /no unaccepted high or critical advisory/)
})

t.test('a high advisory on a production package fails, naming package, severity and URL', async (t) => {
  const critical = { name: 'undici', severity: 'critical', id: 'GHSA-dddd-eeee-ffff', node: 'node_modules/undici' }
  for (const entry of [undiciHigh, critical]) {
    const result = await check(report(entry))
    t.equal(result.code, 1, entry.severity)
    t.match(result.err, `audit: FAILED: undici (${entry.severity}): undici does something bad`)
    t.match(result.err, `https://github.com/advisories/${entry.id}`)
  }
})

t.test('an accepted advisory passes until its acceptance expires, then fails again', async (t) => {
  const before = await check(report(undiciHigh), [acceptance], '2027-02-01T23:00:00Z')
  t.equal(before.code, 0)
  t.match(before.out, /accepted until 2027-02-01: undici \(high\).*only the client side of proxies/)
  const after = await check(report(undiciHigh), [acceptance], '2027-02-02T00:00:01Z')
  t.equal(after.code, 1)
  t.match(after.err, /undici \(high\).*its acceptance expired on 2027-02-01/)
  const otherPackage = await check(report(undiciHigh), [{ ...acceptance, package: 'ws' }])
  t.equal(otherPackage.code, 1, 'an acceptance covers the advisory on the package it names only')
})

t.test('low and moderate advisories are ignored', async (t) => {
  const result = await check(
    report(
      { name: 'undici', severity: 'moderate', id: 'GHSA-1111-2222-3333', node: 'node_modules/undici' },
      { name: 'lru-cache', severity: 'low', id: 'GHSA-4444-5555-6666', node: 'node_modules/lru-cache' },
    ),
  )
  t.equal(result.code, 0)
})

t.test('a dev-only package is ignored, even if the report lists it', async (t) => {
  const result = await check(
    report({ name: 'minimatch', severity: 'critical', id: 'GHSA-7777-8888-9999', node: 'node_modules/minimatch' }),
  )
  t.equal(result.code, 0)
})

t.test('an acceptance no longer needed is pointed out', async (t) => {
  const result = await check(report(), [acceptance])
  t.equal(result.code, 0)
  t.match(result.out, /GHSA-aaaa-bbbb-cccc \(undici\) is accepted but no longer reported: remove it/)
})

t.test('an invalid acceptance fails, saying which field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ ...acceptance, reason: '' }, /accepted\[0\]\.reason/],
    [{ ...acceptance, expires: 'soon' }, /accepted\[0\]\.expires: a date/],
    [{ ...acceptance, expires: '2029-01-01' }, /accepted\[0\]\.expires: at most 366 days ahead/],
    [{ ...acceptance, advisory: 'GHSA-aaaa' }, /accepted\[0\]\.advisory/],
  ]
  for (const [entry, message] of cases) {
    const result = await check(report(), [entry])
    t.equal(result.code, 1)
    t.match(result.err, message)
  }
})

t.test(
  'an audit that could not reach the registry fails (exit 2) saying nothing was checked; warn on request',
  async (t) => {
    const refused = {
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      error: { summary: '', detail: '' },
    }
    const offline = { error: { code: 'ENOTFOUND', summary: 'request to https://registry.npmjs.org failed' } }
    for (const audit of [refused, offline, 'npm ERR! something odd']) {
      const result = await check(audit)
      t.equal(result.code, 2)
      t.match(result.err, /FAILED: the dependency audit did not run .*Nothing was checked/)
    }
    t.match((await check(offline)).err, /ENOTFOUND/)
    const warned = await check(offline, [], undefined, { PARALLAMA_AUDIT_UNREACHABLE: 'warn' })
    t.equal(warned.code, 0)
    t.match(warned.err, /WARNING: the dependency audit did not run/)
  },
)
