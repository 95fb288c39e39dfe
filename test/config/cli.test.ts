// The `parallama` command as an admin runs it: config check, serve, and the refusal of uWS's slow JS fallback.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import net from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startEmulator } from '../../bench/emulator/server.js'
import { runCli } from '../helpers/cli.js'
import { serveProcess } from '../helpers/serveProcess.js'

const cli = 'dist/cli/index.js'
if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm test does)`)
const dir = mkdtempSync(join(tmpdir(), 'parallama-cli-'))
const database = join(dir, 'parallama.db')

/** The binary itself, for what only it shows (its exit status, stdin); everything else runs in-process. */
function spawnCli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env })

t.test('config check prints the effective config, or every problem and exits 1', async (t) => {
  const good = join(dir, 'good.yaml')
  writeFileSync(good, 'server:\n  port: 9999\n')
  const ok = await run(['config', 'check', '--config', good], { PARALLAMA_LOG__LEVEL: 'warn' })
  t.equal(ok.code, 0)
  t.match(ok.stdout, /configuration is valid \(source: .*good.yaml\)/)
  t.match(ok.stdout, /port: 9999/)
  t.match(ok.stdout, /level: warn/, 'env overrides shown')
  const json = JSON.parse((await run(['config', 'check', '--config', good, '--json'])).stdout)
  t.equal(json.config.server.port, 9999)

  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'server:\n  port: high\ntimeouts:\n  idle: forever\n')
  const failed = await run(['config', 'check', '--config', bad])
  t.equal(failed.code, 1)
  t.match(failed.stderr, /server.port: got "high", expected an integer/)
  t.match(failed.stderr, /timeouts.idle: got "forever", expected a duration/)
  t.equal(failed.stdout, '')
})

t.test('usage errors exit 2 with a hint', async (t) => {
  const unknown = spawnCli(['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /parallama --help/)
  t.equal((await run([])).code, 2)
  t.equal((await run(['config', 'nope'])).code, 2)
})

t.test('config defaults prints the documented file', async (t) => {
  const out = await run(['config', 'defaults'])
  t.equal(out.code, 0)
  t.match(out.stdout, /# Where the gateway listens\.\nserver:\n/)
})

/** Starts `parallama serve` on this file's database. */
function serve(env: Record<string, string>) {
  return serveProcess(join(dir, 'none.yaml'), {
    PARALLAMA_DATABASE__PATH: database,
    PARALLAMA_AUTH__JWT_SECRET_FILE: join(dir, 'jwt.key'),
    ...env,
  })
}

t.test('serve runs in the foreground, proxies, and stops on SIGTERM with exit 0', async (t) => {
  const emulator = await startEmulator()
  t.teardown(() => emulator.close())
  writeFileSync(join(dir, 'none.yaml'), 'server:\n  port: 0\n')
  const server = serve({ PARALLAMA_BACKENDS: emulator.url, PARALLAMA_LOG__LEVEL: 'debug' })
  const port = await server.listening
  t.equal((await run(['user', 'add', 'ops', '--role', 'admin', '--no-password', '--db', database])).code, 0)
  const key = (await run(['key', 'create', '--user', 'ops', '--db', database])).stdout.trim()
  const response = await request(`http://127.0.0.1:${port}/api/version`, {
    headers: { authorization: `Bearer ${key}` },
  })
  t.same(await response.body.json(), { version: '0.12.6' })
  const password = 'serve-test password'
  const added = spawnSync(process.execPath, [cli, 'user', 'add', 'pat', '--password-stdin', '--db', database], {
    input: password + '\n',
    encoding: 'utf8',
  })
  t.equal(added.status, 0, added.stderr)
  const login = await request(`http://127.0.0.1:${port}/auth/v1/login`, {
    method: 'POST',
    body: JSON.stringify({ username: 'pat', password }),
  })
  const tokens = (await login.body.json()) as { access_token: string; refresh_token: string }
  const wrong = await request(`http://127.0.0.1:${port}/api/tags`, { headers: { authorization: `Bearer ${key}x` } })
  await wrong.body.dump()
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  t.match(server.output(), /"msg":"stopping","signal":"SIGTERM"/)
  const secrets = [key, key.slice(17, 60), password, tokens.access_token, tokens.refresh_token]
  t.notOk(
    secrets.some((secret) => server.output().includes(secret)),
    'the whole run printed no key, password or token',
  )
})

t.test('serve refuses the pure-JS uWS fallback unless allowed, loudly', async (t) => {
  writeFileSync(join(dir, 'none.yaml'), 'server:\n  port: 0\n')
  const refused = serve({ UWS_USE_FALLBACK: '1' })
  await t.rejects(refused.listening)
  t.equal(await refused.exited, 1)
  t.match(refused.output(), /native uWebSockets.js binary .* did not load/)
  t.match(refused.output(), /server.allow_js_fallback: true/)

  const allowed = serve({ UWS_USE_FALLBACK: '1', PARALLAMA_SERVER__ALLOW_JS_FALLBACK: 'true' })
  await allowed.listening
  t.match(allowed.output(), /"level":"warn","msg":"running on the pure-JS uWebSockets fallback/)
  t.match(allowed.output(), /"native":false/)
  allowed.child.kill('SIGTERM')
  await allowed.exited
})

t.test('serve with a bad config exits 1 naming the key', async (t) => {
  const bad = join(dir, 'bad-serve.yaml')
  writeFileSync(bad, 'backends: []\n')
  const result = spawnSync(process.execPath, [cli, 'serve', '--config', bad], { encoding: 'utf8' })
  t.equal(result.status, 1)
  t.match(result.stderr, /backends: got \[\], expected a list of at least 1 entries/)
})

t.test('serve on a port already taken exits 1 (no silent port sharing)', async (t) => {
  const taken = net.createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const { port } = taken.address() as net.AddressInfo
  const result = spawnSync(process.execPath, [cli, 'serve', '--config', join(dir, 'none.yaml')], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      PARALLAMA_SERVER__PORT: String(port),
      PARALLAMA_DATABASE__PATH: database,
      PARALLAMA_AUTH__JWT_SECRET_FILE: join(dir, 'jwt.key'),
    },
  })
  t.equal(result.status, 1)
  t.match(result.stdout, new RegExp(`cannot listen on 127.0.0.1:${port}`))
})

t.test('the admin guide holds the reference of every config key', async (t) => {
  const reference = await run(['config', 'reference'])
  t.equal(reference.code, 0)
  const guide = readFileSync('docs/admin-guide.md', 'utf8')
  const keys = [...reference.stdout.matchAll(/^\| `([a-z_.]+)` \|/gm)].map((match) => match[1]!)
  t.ok(keys.length > 40, `${keys.length} keys`)
  for (const key of keys) t.match(guide, new RegExp(`^\\| \`${key.replace(/\./g, '\\.')}\` +\\|`, 'm'), key)
})
