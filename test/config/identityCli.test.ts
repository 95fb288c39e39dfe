// The user, key and db commands as an admin runs them, on a real SQLite file: output, --json, exit codes, and the
// errors for every bad input (nothing half-written).
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { checkKeyShape } from '../../src/auth/apiKeyFormat.js'
import { runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'parallama-identity-cli-'))
const db = join(dir, 'parallama.db')

const run = (args: string[], input?: string) => runCli([...args, '--db', db], { input })

const json = async (args: string[], input?: string) => JSON.parse((await run([...args, '--json'], input)).stdout)

// A --db must name an existing database: `db migrate` is the command that creates one.
await run(['db', 'migrate'])

t.test('users: add with and without a password, list, show, role, disable, enable, passwd, delete', async (t) => {
  t.equal((await run(['user', 'add', 'root', '--role', 'admin', '--no-password'])).code, 0)
  const added = await run(['user', 'add', 'kim', '--email', 'kim@example.org', '--password-stdin'], 'a long password\n')
  t.equal(added.code, 0, added.stderr)
  t.match(added.stdout, /added user kim \(user\)/)
  t.match(await json(['user', 'list']), [
    { username: 'kim', password: true },
    { username: 'root', role: 'admin', password: false },
  ])
  t.match(await json(['user', 'show', 'kim']), { username: 'kim', email: 'kim@example.org', keys: 0 })
  t.match((await run(['user', 'set-role', 'kim', 'readonly'])).stdout, /kim is now readonly/)
  t.match((await run(['user', 'disable', 'kim'])).stdout, /disabled/)
  t.match(await json(['user', 'show', 'kim']), { active: false, role: 'readonly' })
  t.equal((await run(['user', 'enable', 'kim'])).code, 0)
  t.match((await run(['user', 'passwd', 'kim', '--no-password'])).stdout, /password removed/)
  t.match((await run(['user', 'list'])).stdout, /USERNAME +ROLE +ACTIVE/)
})

t.test('user errors: usage exits 2, failures exit 1, nothing changes', async (t) => {
  const cases: [string[], string | undefined, number, RegExp][] = [
    [['user', 'add', 'kim', '--no-password'], undefined, 1, /user "kim" already exists/],
    [['user', 'add', 'bad name', '--no-password'], undefined, 1, /invalid username "bad name"/],
    [['user', 'add', 'lee', '--email', 'not-an-email', '--no-password'], undefined, 1, /invalid email/],
    [['user', 'add', 'lee'], undefined, 2, /choose one: --password-stdin .* or --no-password/],
    [['user', 'add', 'lee', '--password-stdin'], 'short\n', 1, /at least 8 characters/],
    [['user', 'add', 'lee', '--role', 'owner', '--no-password'], undefined, 2, /Invalid values/],
    [['user', 'show', 'nobody'], undefined, 1, /no user "nobody"/],
    [['user', 'set-role', 'nobody', 'user'], undefined, 1, /no user "nobody"/],
    [['user', 'delete', 'kim'], '', 2, /--yes to confirm/],
  ]
  for (const [args, input, code, message] of cases) {
    const result = await run(args, input)
    t.equal(result.code, code, args.join(' '))
    t.match(result.stderr, message)
  }
  t.equal((await json(['user', 'list'])).length, 2, 'no user was added by a failed command')
})

t.test('keys: create (printed once), list, show, rotate with grace, revoke; user delete takes its keys', async (t) => {
  const created = await run([
    'key',
    'create',
    '--user',
    'kim',
    '--name',
    'ci',
    '--models',
    'llama3.2:*,qwen2.5:0.5b',
    '--expires',
    '30d',
  ])
  t.equal(created.code, 0, created.stderr)
  const key = created.stdout.trim()
  t.equal(checkKeyShape(key), 'key', 'stdout is exactly the key')
  t.match(created.stderr, /shown once/)
  const id = key.slice(4, 16)
  t.match(await json(['key', 'show', id]), {
    id,
    user: 'kim',
    name: 'ci',
    models: ['llama3.2:*', 'qwen2.5:0.5b'],
    state: 'active',
  })
  t.notOk((await run(['key', 'list'])).stdout.includes(key), 'lists never show the secret')
  const rotated = await json(['key', 'rotate', id, '--grace', '1h'])
  t.match(rotated, { key: /^plm_/, name: 'ci', replaces: { id, state: 'rotated (in grace)', replaced_by: rotated.id } })
  t.match((await run(['key', 'revoke', rotated.id])).stdout, /revoked/)
  t.match(await run(['key', 'revoke', rotated.id]), { code: 1, stderr: /already revoked/ })
  t.match(await run(['key', 'rotate', id]), { code: 1, stderr: /revoked, expired or already rotated/ })
  t.match(await run(['key', 'show', 'nosuchkey']), { code: 1, stderr: /no API key with id "nosuchkey"/ })
  t.match(await run(['key', 'create', '--user', 'nobody']), { code: 1, stderr: /no user "nobody"/ })
  t.match(await run(['key', 'create', '--user', 'kim', '--expires', 'soon']), {
    code: 2,
    stderr: /--expires: expected a duration/,
  })
  t.match(await run(['key', 'create', '--user', 'kim', '--models', 'no good']), {
    code: 1,
    stderr: /invalid model pattern/,
  })
  t.equal((await json(['key', 'list', '--user', 'kim'])).length, 2, 'no key was added by a failed command')
  const deleted = await run(['user', 'delete', 'kim', '--yes'])
  t.match(deleted.stdout, /deleted kim and 2 API key\(s\)/)
  t.equal((await json(['key', 'list'])).length, 0)
})

t.test('db status and migrate', async (t) => {
  t.match(await json(['db', 'status']), { upToDate: true, migrations: [{ version: 1, name: 'identity' }] })
  t.match((await run(['db', 'migrate'])).stdout, /is up to date/)
  const missing = spawnSync(process.execPath, ['dist/cli/index.js', 'db', 'status', '--db', join(dir, 'none.db')], {
    encoding: 'utf8',
  })
  t.equal(missing.status, 1)
  t.match(missing.stderr, /no database at/)
})
