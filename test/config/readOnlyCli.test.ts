// The CLI on databases it must not change or create: a --db that does not exist is an error (no file made), read
// commands work on a read-only file in a read-only folder, `| head` ends quietly, and a bad filter fails before any
// output. What needs the binary (another user's process, a pipe) spawns dist/cli (build first).
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openStore } from '../../src/store/store.js'
import { UsageStore } from '../../src/store/usage.js'
import type { UsageRow } from '../../src/usage/usageRow.js'
import { runCli } from '../helpers/cli.js'
import { usageRow } from '../helpers/usageRow.js'

const cli = join(process.cwd(), 'dist/cli/index.js')
const root = process.getuid?.() === 0
// Root may write anything: the read-only cases run the CLI as nobody.
const asUser = root ? { uid: 65534, gid: 65534 } : {}

/** A clean environment: no NODE_OPTIONS hooks of the test runner (which write where nobody may not). */
const clean = ['-i', `PATH=${process.env.PATH}`]

/** The binary as another user (only a process can change its uid); other cases run in-process (runCli). */
function runAsUser(args: string[]) {
  const result = spawnSync('env', [...clean, process.execPath, cli, ...args], { encoding: 'utf8', ...asUser })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

function row(i: number, fields: Partial<UsageRow> = {}): UsageRow {
  return usageRow({ requestId: `r${i}`, userId: 1, username: 'ann', keyId: 'k1', ...fields })
}

/** A database with a user and `rows` usage rows, closed cleanly (no -wal left). */
function database(rows: number, extra: UsageRow[] = []): { dir: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-ro-cli-'))
  const db = join(dir, 'parallama.db')
  const store = openStore({ path: db, migrate_on_start: true, busy_timeout: 1000 }, { migrate: true })
  store.users.add({ username: 'ann', role: 'user' })
  new UsageStore(store.db).write([...Array.from({ length: rows }, (_, i) => row(i)), ...extra])
  store.close()
  return { dir, db }
}

t.test('a --db that does not exist is an error, and no file is created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-ro-cli-'))
  const missing = join(dir, 'typo.db')
  for (const args of [
    ['usage', 'report'],
    ['usage', 'export'],
    ['user', 'list'],
    ['key', 'list'],
    ['user', 'add', 'x', '--no-password'],
  ]) {
    const result = await runCli([...args, '--db', missing])
    t.equal(result.code, 1, `${args.join(' ')} exits 1`)
    t.match(result.stderr, /no database at .*typo\.db/, 'and says which file')
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
    t.equal(result.stdout, '')
    t.notOk(existsSync(missing), 'no file was created')
  }
  t.equal((await runCli(['db', 'migrate', '--db', missing])).code, 0, 'db migrate creates one on purpose')
  t.equal((await runCli(['user', 'list', '--db', missing])).code, 0, 'which the others then use')
})

t.test('read commands work on a read-only file in a read-only folder; writes say why they cannot', async (t) => {
  const { dir, db } = database(3)
  chmodSync(dir, 0o755)
  chmodSync(db, 0o444)
  chmodSync(dir, 0o555)
  t.teardown(() => chmodSync(dir, 0o755))
  const report = runAsUser(['usage', 'report', '--by', 'user', '--json', '--db', db])
  t.equal(report.code, 0, report.stderr)
  t.match(JSON.parse(report.stdout), [{ group: 'ann', requests: 3 }])
  const exported = runAsUser(['usage', 'export', '--db', db])
  t.equal(exported.code, 0, exported.stderr)
  t.equal(exported.stdout.trim().split('\n').length, 4, 'header and three rows')
  for (const args of [
    ['user', 'list'],
    ['key', 'list'],
    ['usage', 'top'],
  ]) {
    const result = runAsUser([...args, '--db', db])
    t.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`)
  }
  const write = runAsUser(['user', 'add', 'bob', '--no-password', '--db', db])
  t.equal(write.code, 1, 'a write fails')
  t.match(write.stderr, /read-only/, 'and says the database is read-only')
  t.notMatch(write.stderr, /\n\s+at /, 'no stack trace')
  t.notOk(existsSync(`${db}-wal`), 'nothing was created beside it')
})

t.test('`usage export | head -1` ends quietly with exit 0', async (t) => {
  const { db } = database(20_000)
  for (const format of ['csv', 'jsonl']) {
    const result = spawnSync(
      'env',
      [
        ...clean,
        'bash',
        '--norc',
        '--noprofile',
        '-c',
        `set -o pipefail; "${process.execPath}" "${cli}" usage export --format ${format} --db "${db}" | head -1`,
      ],
      { encoding: 'utf8' },
    )
    t.equal(result.status, 0, `${format}: exit 0 through the pipe`)
    t.equal(result.stderr, '', `${format}: nothing on stderr`)
    t.equal(result.stdout.split('\n').length, 2, `${format}: one line came out`)
  }
})

t.test('a bad filter fails before any output (and before an output file is made)', async (t) => {
  const { dir, db } = database(2)
  const file = join(dir, 'out.csv')
  for (const args of [
    ['usage', 'export', '--since', 'last tuesday'],
    ['usage', 'export', '--until', '5 parsecs'],
    ['usage', 'export', '--since', 'soon', '--output', file],
    ['usage', 'report', '--since', 'x'],
    ['usage', 'top', '--limit', '0'],
    ['usage', 'top', '--limit', 'lots'],
  ]) {
    const result = await runCli([...args, '--db', db])
    t.equal(result.code, 2, `${args.join(' ')} exits 2`)
    t.equal(result.stdout, '', 'with nothing on stdout')
    t.match(result.stderr, /--(since|until|limit)/, 'naming the option')
  }
  const unknownUser = await runCli(['usage', 'export', '--user', 'nobody', '--output', file, '--db', db])
  t.equal(unknownUser.code, 1)
  t.equal(unknownUser.stdout, '')
  t.notOk(existsSync(file), 'no output file was created')
})

t.test('CSV export neutralises formulas in text cells', async (t) => {
  const { db } = database(0, [
    row(1, { requestId: '=HYPERLINK("http://evil","x")', model: '@SUM(1+1)', username: '+ann', keyId: '-k' }),
  ])
  const out = (await runCli(['usage', 'export', '--db', db])).stdout.trim().split('\n')[1]!
  t.match(out, /^"'=HYPERLINK\(""http:\/\/evil"",""x""\)"/, 'the request id is text')
  t.match(out, /,'\+ann,'-k,/, 'user and key are text')
  t.match(out, /,'@SUM\(1\+1\),/, 'the model is text')
})
