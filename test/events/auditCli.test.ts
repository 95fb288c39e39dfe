// `parallama audit ...` and the rows the CLI writes: changes recorded with the OS user and host, reads of the log
// recorded too, verify naming a broken row (exit 1), signed checkpoints that catch cut-off rows, keygen, list filters,
// export as JSON lines; and two processes writing at once keeping one chain (the second spawned from dist: build first).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { AuditLog } from '../../src/events/auditLog.js'
import { openDatabase } from '../../src/store/database.js'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-audit-cli-'))
const db = join(dir, 'parallama.db')
const run = (args: string[], input?: string) => runCli([...args, '--db', db], { input })
const json = async (args: string[]) => JSON.parse((await run([...args, '--json'])).stdout)

await run(['db', 'migrate'])

t.test('CLI changes are recorded with the OS user and host; reading the log is recorded too', async (t) => {
  t.equal((await run(['user', 'add', 'ann', '--role', 'admin', '--no-password'])).code, 0)
  const key = await json(['key', 'create', '--user', 'ann'])
  t.equal((await run(['limit', 'set', '--user', 'ann', '--rpm', '10'])).code, 0)
  t.equal((await run(['user', 'add', 'ann', '--no-password'])).code, 1, 'a failed change')
  const listed = await json(['audit', 'list', '--limit', '10'])
  t.match(listed[0], { action: 'audit.read', after: { limit: 10 } }, 'the read itself is recorded first')
  const rows = listed.slice(1)
  t.match(rows.map((row: { action: string }) => row.action).reverse(), [
    'user.create',
    'key.reveal',
    'key.create',
    'limit.set',
    'user.create',
  ])
  t.match(rows[0], { action: 'user.create', result: 'failed', error: 'user_exists', target: 'user:ann' })
  t.match(rows.at(-1), {
    seq: 1,
    actor: { source: 'cli', os_user: userInfo().username, host: hostname(), user: null },
    after: { role: 'admin', has_password: false },
  })
  const created = rows.find((row: { action: string }) => row.action === 'key.create')
  t.equal(created.target, `key:${key.id}`)
  t.notMatch(JSON.stringify(rows), key.key, 'the secret is never in the log')
  t.match(
    rows.find((row: { action: string }) => row.action === 'limit.set'),
    {
      target: 'limit:user/ann',
      before: null,
      after: { limits: { rpm: 10 } },
    },
  )
  const reads = await json(['audit', 'list', '--action', 'audit.read'])
  t.match(reads, [{ action: 'audit.read', after: { action: 'audit.read' } }, { action: 'audit.read' }])
  t.same(await json(['audit', 'list', '--user', 'nobody']), [])
  t.match(await run(['audit', 'list', '--since', 'yesterday-ish']), { code: 2, stderr: /--since/ })
  t.match(await run(['audit', 'list', '--limit', '0']), { code: 2, stderr: /--limit/ })
})

t.test('export writes JSON lines oldest first, and is recorded', async (t) => {
  const out = await run(['audit', 'export', '--action', 'user.create'])
  t.equal(out.code, 0, out.stderr)
  const lines = out.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  t.match(lines, [
    { seq: 1, action: 'user.create' },
    { action: 'user.create', result: 'failed' },
  ])
  const file = join(dir, 'audit.jsonl')
  t.equal((await run(['audit', 'export', '--output', file])).code, 0)
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.match(JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!), { action: 'audit.export' })
})

t.test('verify, checkpoint, keygen: a cut-off log fails against its checkpoint', async (t) => {
  const verified = await run(['audit', 'verify'])
  t.equal(verified.code, 0, verified.stderr)
  t.match(verified.stdout, /audit log verified: \d+ rows from the first row/)
  const keyFile = join(dir, 'audit.key')
  const keygen = await runCli(['audit', 'keygen', '--out', keyFile])
  t.match(keygen.stdout, /^-----BEGIN PUBLIC KEY-----/)
  t.equal(statSync(keyFile).mode & 0o777, 0o600)
  writeFileSync(join(dir, 'audit.pub'), keygen.stdout)
  t.match(await runCli(['audit', 'keygen', '--out', keyFile]), { code: 1, stderr: /cannot write/ })
  t.match(await run(['audit', 'checkpoint', '--out', join(dir, 'cp.json')]), { code: 2, stderr: /no signing key/ })
  const made = await run(['audit', 'checkpoint', '--out', join(dir, 'cp.json'), '--key', keyFile])
  t.equal(made.code, 0, made.stderr)
  const checkpoint = JSON.parse(readFileSync(join(dir, 'cp.json'), 'utf8'))
  const against = ['audit', 'verify', '--checkpoint', join(dir, 'cp.json'), '--public-key', join(dir, 'audit.pub')]
  t.equal((await run(against)).code, 0)
  t.match(await run(['audit', 'verify', '--checkpoint', join(dir, 'cp.json')]), { code: 2 })
  writeFileSync(join(dir, 'forged.json'), JSON.stringify({ ...checkpoint, seq: checkpoint.seq + 5 }))
  const forged = ['audit', 'verify', '--checkpoint', join(dir, 'forged.json'), '--public-key', join(dir, 'audit.pub')]
  t.match(await run(forged), { code: 1, stderr: /signature does not match/ })
  // Cut off the newest rows the way someone with the file would.
  const raw = openDatabase(db, { busyTimeoutMs: 1000 })
  raw.exec('DROP TRIGGER audit_log_no_delete')
  raw.prepare('DELETE FROM audit_log WHERE seq >= ?').run(checkpoint.seq - 1)
  raw.close()
  t.equal((await run(['audit', 'verify'])).code, 0, 'the chain alone cannot tell')
  const cut = await run(against)
  t.equal(cut.code, 1)
  t.match(cut.stderr, new RegExp(`broken at row ${checkpoint.seq}: .*ends at row`))
})

t.test('an edited row: verify exits 1 naming it', async (t) => {
  const raw = openDatabase(db, { busyTimeoutMs: 1000 })
  raw.exec('DROP TRIGGER audit_log_no_update')
  raw.exec(`UPDATE audit_log SET target = 'user:bob' WHERE seq = 2`)
  raw.close()
  const result = await run(['audit', 'verify', '--json'])
  t.equal(result.code, 1)
  t.match(JSON.parse(result.stdout.slice(0, result.stdout.lastIndexOf('}') + 1)), { ok: false, seq: 2 })
  t.match(result.stderr, /broken at row 2: its fields do not match its hash/)
})

t.test('two processes writing at once keep one chain', async (t) => {
  const shared = join(mkdtempSync(join(tmpdir(), 'parallama-audit-two-')), 'p.db')
  await runCli(['db', 'migrate', '--db', shared])
  const module = join(process.cwd(), 'dist/src/events/auditLog.js')
  const database = join(process.cwd(), 'dist/src/store/database.js')
  const script = `
    const { AuditLog } = await import(${JSON.stringify(module)})
    const { openDatabase } = await import(${JSON.stringify(database)})
    const log = new AuditLog(openDatabase(process.argv[1], { busyTimeoutMs: 10000 }))
    for (let i = 0; i < 300; i++) log.record({ action: 'login', actor: { source: 'api', user: 'child', keyId: null,
      clientIp: null }, target: null, result: 'ok', requestId: String(i) })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, shared], { stdio: 'inherit' })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const log = new AuditLog(openDatabase(shared, { busyTimeoutMs: 10000 }))
  for (let i = 0; i < 300; i++) {
    log.record({
      action: 'logout',
      actor: { source: 'cli', user: null, keyId: null, clientIp: null },
      target: null,
      result: 'ok',
      requestId: null,
    })
    if (i % 50 === 0) await new Promise((go) => setImmediate(go))
  }
  t.equal(await exited, 0)
  const verified = await runCli(['audit', 'verify', '--db', shared, '--json'])
  t.match(JSON.parse(verified.stdout), { ok: true, rows: 600 })
})
