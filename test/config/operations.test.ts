// Running it as an admin does: a graceful SIGTERM that lets streams finish (and ends them past the drain timeout),
// SIGHUP reloads (live settings change, a bad file is refused), the per-request log line, `parallama status`, and the
// database's backup, check, vacuum and restore — online, verified, refusing what would lose data.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { runCli } from '../helpers/cli.js'
import { serveProcess } from '../helpers/serveProcess.js'
import { knownMigrations } from '../../src/store/migrations.js'
import { freePort } from '../../bench/processes.js'

/** The schema version a fresh database has: the newest migration's. */
const schemaVersion = knownMigrations().at(-1)!.version

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'parallama-ops-'))
  const database = join(dir, 'parallama.db')
  const configFile = join(dir, 'parallama.yaml')
  const cli = (args: string[]) => runCli([...args, '--config', configFile])
  /** The binary itself: that it ends, with the exit status a script reads. */
  const spawnCli = (args: string[]) => {
    const result = spawnSync(process.execPath, ['dist/cli/index.js', ...args, '--config', configFile], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    })
    return { code: result.status, stdout: result.stdout, stderr: result.stderr }
  }
  return { dir, database, configFile, cli, spawnCli }
}

function configText(database: string, dir: string, backend: string, extra = '', port = 0): string {
  return `server:\n  port: ${port}\n  drain_timeout: 1500ms\nbackends:\n  - url: ${backend}\ndatabase:\n  path: ${database}\nauth:\n  jwt_secret_file: ${join(dir, 'jwt.key')}\n${extra}`
}

t.test('SIGTERM drains: a running stream finishes, one past the drain timeout is ended cleanly', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const { dir, database, configFile, cli, spawnCli } = setup()
  writeFileSync(configFile, configText(database, dir, emulator.url, '', await freePort()))
  t.equal((await cli(['user', 'add', 'ops', '--role', 'admin', '--no-password'])).code, 0)
  const key = (await cli(['key', 'create', '--user', 'ops'])).stdout.trim()
  const server = serveProcess(configFile, {})
  const port = await server.listening
  const url = `http://127.0.0.1:${port}`
  const headers = { authorization: `Bearer ${key}` }
  const stream = (tokens: number) =>
    request(`${url}/api/generate`, {
      method: 'POST',
      headers: { ...headers, 'x-emulator-tokens': String(tokens), 'x-emulator-delay-ms': '20' },
      body: JSON.stringify({ model: 'llama3.2:3b', prompt: 'x' }),
    })
  const short = await stream(20) // ~0.4 s: finishes within the drain
  const long = await stream(500) // ~10 s: ended at the drain timeout
  const running = await cli(['status'])
  t.equal(running.code, 0, `status: running and its backend answers (${running.stdout}${running.stderr})`)
  server.child.kill('SIGTERM')
  const shortText = await short.body.text()
  t.match(shortText.trim().split('\n').at(-1), /"done":true/, 'the short stream completed')
  const longText = await long.body.text()
  t.match(
    longText.trim().split('\n').at(-1),
    /"error":"the gateway is shutting down/,
    'the long one ends with an error line',
  )
  t.equal(await server.exited, 0)
  t.match(server.output(), /"msg":"ending requests still running after the drain timeout","requests":1/)
  t.match(server.output(), /"msg":"request".*"route":"generate".*"status":200/, 'one log line per request')
  t.notOk(server.output().includes(key), 'never the key')
  const stopped = spawnCli(['status'])
  t.equal(stopped.code, 1, 'status: not running')
  t.match(stopped.stdout, new RegExp(`parallama is not running on http://127\\.0\\.0\\.1:${port}/`))
})

t.test('SIGHUP reloads what can change live; a bad file is refused and the old config stays', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  const { dir, database, configFile, cli } = setup()
  writeFileSync(configFile, configText(database, dir, emulator.url))
  t.equal((await cli(['user', 'add', 'ops', '--role', 'admin', '--no-password'])).code, 0)
  const key = (await cli(['key', 'create', '--user', 'ops'])).stdout.trim()
  const server = serveProcess(configFile, {})
  t.teardown(() => server.child.kill('SIGKILL'))
  const port = await server.listening
  const chat = async () => {
    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: 'fast', messages: [] }),
    })
    return { status: response.statusCode, body: (await response.body.json()) as any }
  }
  t.equal((await chat()).status, 404, 'no alias yet')
  writeFileSync(
    configFile,
    configText(database, dir, emulator.url, 'models:\n  aliases:\n    - { alias: fast, model: qwen2.5:0.5b }\n'),
  )
  server.child.kill('SIGHUP')
  await server.printed(/"msg":"config reloaded"/)
  t.match(await chat(), { status: 200, body: { model: 'fast' } }, 'the new alias applies without a restart')
  t.match(server.output(), /"msg":"config reloaded"/)

  writeFileSync(configFile, configText(database, dir, emulator.url, 'log:\n  level: loud\n'))
  server.child.kill('SIGHUP')
  await server.printed(/"msg":"config reload refused; the running config stays".*log\.level/)
  t.equal((await chat()).status, 200, 'the alias is still there')

  writeFileSync(configFile, configText(database, dir, emulator.url).replace('port: 0', 'port: 1'))
  server.child.kill('SIGHUP')
  await server.printed(/"msg":"changed settings that apply only after a restart","keys":\["server.port"\]/)
  t.equal((await chat()).status, 404, 'the rest applied (the alias is gone again)')
})

t.test(
  'db backup (online, verified), check, vacuum, restore (refused while serving; keeps the old file)',
  async (t) => {
    const emulator = await startEmulator()
    t.teardown(() => emulator.close())
    const { dir, database, configFile, cli } = setup()
    writeFileSync(configFile, configText(database, dir, emulator.url))
    t.equal((await cli(['user', 'add', 'before', '--no-password'])).code, 0)
    const server = serveProcess(configFile, {})
    const port = await server.listening
    const backup = join(dir, 'backup.db')
    const made = await cli(['db', 'backup', backup, '--json'])
    t.equal(made.code, 0, made.stderr)
    t.match(JSON.parse(made.stdout), { file: backup, verified: true, version: schemaVersion })
    t.equal(statSync(backup).mode & 0o777, 0o600, 'the backup is private like the database')
    t.match(await cli(['db', 'backup', backup]), { code: 2, stderr: /exists; pass --force/ })
    t.equal((await cli(['user', 'add', 'after', '--no-password'])).code, 0)
    t.match(await cli(['db', 'restore', backup, '--yes']), {
      code: 1,
      stderr: /a server \(pid \d+\) is using .*; stop it first/,
    })
    t.match(await cli(['db', 'restore', backup]), { code: 2, stderr: /pass --yes/ })
    t.match(await cli(['db', 'check']), { code: 0, stdout: new RegExp(`: ok \\(schema version ${schemaVersion}\\)`) })
    t.equal((await cli(['db', 'vacuum'])).code, 0, 'vacuum works beside the running server')
    void port
    server.child.kill('SIGTERM')
    t.equal(await server.exited, 0)

    writeFileSync(join(dir, 'garbage.db'), 'not a database at all')
    t.match(await cli(['db', 'restore', join(dir, 'garbage.db'), '--yes']), { code: 1, stderr: /not a usable backup/ })
    const restored = await cli(['db', 'restore', backup, '--yes', '--json'])
    t.equal(restored.code, 0, restored.stderr)
    const kept = JSON.parse(restored.stdout).kept as string
    t.ok(existsSync(kept), 'the replaced file is kept aside')
    const users = JSON.parse((await cli(['user', 'list', '--json'])).stdout).map(
      (user: { username: string }) => user.username,
    )
    t.same(users, ['before'], 'the database is as it was at the backup')
    t.match(await cli(['db', 'check', '--db', join(dir, 'garbage.db')]), { code: 1, stdout: /problem/ })
  },
)

t.test('scheduled backups: written on the interval, verified, only the newest kept', async (t) => {
  const { rotateBackup } = await import('../../src/store/backup.js')
  const { dir, database, configFile, cli } = setup()
  writeFileSync(configFile, configText(database, dir, 'http://127.0.0.1:9'))
  t.equal((await cli(['user', 'add', 'someone', '--no-password'])).code, 0)
  const folder = join(dir, 'backups')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(folder)
  for (let day = 1; day <= 4; day++) await rotateBackup(database, folder, 2, new Date(Date.UTC(2026, 10, day)))
  t.same(readdirSync(folder).sort(), ['parallama-20261103T000000Z.db', 'parallama-20261104T000000Z.db'])
})
