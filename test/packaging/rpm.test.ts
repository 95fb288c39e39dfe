// The RPM, built from this repository as `npm run rpm` builds it: its files with owners and modes, its scriptlets,
// rpmlint, the systemd unit (verify, and a security score of 2.0 or lower), and the packaged files themselves
// running `parallama serve` against the emulator from a root the payload was unpacked into.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { freePort } from '../../bench/processes.js'
import { startEmulator } from '../../bench/emulator/server.js'

const tools = ['rpmbuild', 'rpmlint', 'rpm2cpio', 'cpio', 'systemd-analyze']
const missing = tools.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
if (missing.length > 0) {
  // .ci/run installs them; a development machine may not have them.
  t.test(
    'the RPM',
    { skip: `packaging tools missing: ${missing.join(', ')} (apt-get install rpm rpmlint cpio)` },
    () => {},
  )
} else {
  const run = (command: string, args: string[]) => execFileSync(command, args, { encoding: 'utf8' })
  // One build for every test below, of the dist/ that npm test has just built.
  const built = run('bash', ['rpm/build.sh', '--prebuilt']).trim().split('\n').at(-1)!
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version

  t.test('the files, their owners and modes, config(noreplace), requirements and scriptlets', async (t) => {
    const listing = run('rpm', ['-qlvp', built])
    const entry = (path: string) => listing.split('\n').find((line) => line.endsWith(` ${path}`)) ?? `(no ${path})`
    const expected: [string, RegExp][] = [
      ['/usr/bin/parallama', /^-rwxr-xr-x\s+\d+\s+root\s+root\s/],
      ['/etc/parallama', /^drwxr-x---\s+\d+\s+root\s+parallam\S*\s/],
      ['/etc/parallama/parallama.yaml', /^-rw-r-----\s+\d+\s+root\s+parallam\S*\s/],
      ['/var/lib/parallama', /^drwxr-x---\s+\d+\s+parallam\S*\s+parallam\S*\s/],
      ['/usr/lib/systemd/system/parallama.service', /^-rw-r--r--\s+\d+\s+root\s+root\s/],
      ['/usr/lib/sysusers.d/parallama.conf', /^-rw-r--r--\s+\d+\s+root\s+root\s/],
      ['/usr/lib/parallama/dist/cli/index.js', /^-rwxr-xr-x\s+\d+\s+root\s+root\s/],
      ['/usr/lib/parallama/package.json', /^-rw-r--r--\s+\d+\s+root\s+root\s/],
    ]
    for (const [path, mode] of expected) t.match(entry(path), mode, path)
    t.match(listing, /\/usr\/share\/licenses\/parallama[^\s]*\/LICENSE/, 'the licence')
    t.match(listing, /\/usr\/share\/doc\/parallama[^\s]*\/docs\/openai\.md/, 'the docs')
    t.notMatch(listing, /\/usr\/lib\/parallama\/node_modules\/(typescript|tap|eslint)\//, 'no dev dependencies')
    t.notMatch(listing, /uws_(darwin|win32|linux_arm)/, 'no other platforms’ binaries')
    const flags = run('rpm', ['-qp', '--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]', built])
    t.match(flags, /^cn \/etc\/parallama\/parallama\.yaml$/m, '%config(noreplace)')
    t.match(run('rpm', ['-qpR', built]), /^nodejs >= 20$/m)
    const scripts = run('rpm', ['-qp', '--scripts', built])
    t.match(scripts, /useradd -r -g parallama -d \/var\/lib\/parallama -s \/sbin\/nologin/)
    t.match(scripts, /if \[ ! -e \/var\/lib\/parallama\/jwt\.key \]/, 'the secret is made once, never overwritten')
    t.match(scripts, /systemctl --no-reload preset parallama\.service/)
    t.match(scripts, /systemctl try-restart parallama\.service/)
    t.match(built, new RegExp(`parallama-${version.replace(/\./g, '\\.')}-1\\.x86_64\\.rpm$`))
  })

  t.test(
    'rpmlint passes on the spec and the package (each filter is explained in rpm/parallama.rpmlintrc)',
    async (t) => {
      const lint = spawnSync('rpmlint', ['-r', 'rpm/parallama.rpmlintrc', 'rpm/parallama.spec', built], {
        encoding: 'utf8',
      })
      t.match(lint.stdout, /0 errors, 0 warnings/, lint.stdout)
    },
  )

  const root = mkdtempSync(join(tmpdir(), 'parallama-rpm-root-'))
  execFileSync('sh', ['-c', `rpm2cpio "${built}" | (cd "${root}" && cpio -idm --quiet)`])

  t.test('the unit verifies, and systemd-analyze security rates it 2.0 or lower', async (t) => {
    // A root with the payload, the targets the unit refers to and kill (ExecReload), as on an installed system.
    const units = join(root, 'usr/lib/systemd/system')
    for (const file of readdirSync('/lib/systemd/system').filter((name) => name.endsWith('.target'))) {
      copyFileSync(join('/lib/systemd/system', file), join(units, file))
    }
    mkdirSync(join(root, 'bin'), { recursive: true })
    copyFileSync('/bin/kill', join(root, 'bin/kill'))
    const verify = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'parallama.service'], { encoding: 'utf8' })
    t.equal(verify.status, 0)
    t.equal(verify.stdout + verify.stderr, '', 'no warning at all')
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', 'systemd/parallama.service'], {
      encoding: 'utf8',
    })
    const score = Number(/Overall exposure level for parallama\.service: ([\d.]+)/.exec(security.stdout)?.[1])
    t.ok(score <= 2.0, `exposure ${score} (goal ≤ 2.0)`)
    t.notMatch(readFileSync('systemd/parallama.service', 'utf8'), /^MemoryDenyWriteExecute=yes/m, 'V8 needs W^X off')
  })

  t.test('the packaged files run: parallama serve from the unpacked root, against the emulator', async (t) => {
    const emulator = await startEmulator()
    t.teardown(() => emulator.close())
    const state = mkdtempSync(join(tmpdir(), 'parallama-rpm-state-'))
    const port = await freePort()
    const env = {
      PATH: process.env.PATH,
      PARALLAMA_DATABASE__PATH: join(state, 'parallama.db'),
      PARALLAMA_AUTH__JWT_SECRET_FILE: join(state, 'jwt.key'),
      PARALLAMA_SERVER__PORT: String(port),
      PARALLAMA_BACKENDS: emulator.url,
    }
    const cli = join(root, 'usr/lib/parallama/dist/cli/index.js')
    const config = join(root, 'etc/parallama/parallama.yaml')
    t.match(
      readFileSync(join(root, 'usr/bin/parallama'), 'utf8'),
      /exec \/usr\/bin\/node \/usr\/lib\/parallama\/dist\/cli\/index\.js "\$@"/,
    )
    const packaged = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args, '--config', config], { encoding: 'utf8', env })
    t.equal(packaged(['user', 'add', 'admin', '--role', 'admin', '--no-password']).status, 0)
    const key = packaged(['key', 'create', '--user', 'admin']).stdout.trim()
    const { spawn } = await import('node:child_process')
    const server = spawn(process.execPath, [cli, 'serve', '--config', config], { env })
    const exited = new Promise((resolve) => server.on('exit', resolve))
    t.teardown(() => server.kill('SIGKILL'))
    let output = ''
    server.stdout.on('data', (data: Buffer) => (output += data.toString()))
    const deadline = Date.now() + 10_000
    while (!output.includes('"msg":"listening"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const tags = await request(`http://127.0.0.1:${port}/api/tags`, { headers: { authorization: `Bearer ${key}` } })
    t.equal(tags.statusCode, 200)
    t.match(await tags.body.json(), { models: [{ name: 'llama3.2:3b' }] })
    const models = await request(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
    t.match(await models.body.json(), { object: 'list' })
    server.kill('SIGTERM')
    t.equal(await exited, 0)
  })
}
